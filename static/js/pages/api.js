// /docs: the OpenAPI reference of this server, drawn by the vendored Swagger UI from /openapi.json.
window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  tryItOutEnabled: false,
  defaultModelsExpandDepth: -1, // each operation shows its own schemas; no separate list of them
  validatorUrl: null, // never ask an outside validator about the schema
  onComplete: () => (document.body.dataset.ready = "1"),
});
