// static/css/links.css, loaded once, only on a page that shows the link builder, its chip or its notice.
let loaded = null;
export function linksStyle() {
  loaded ??= new Promise((resolve) => {
    const link = Object.assign(document.createElement("link"), {
      rel: "stylesheet",
      href: "/static/css/links.css",
    });
    link.addEventListener("load", resolve);
    link.addEventListener("error", resolve);
    document.head.append(link);
  });
  return loaded;
}
