// The live class's bars (./class/bar.js) load only in a class or while presenting: ~200 bytes elsewhere.
const keys = ["tp-class-teacher", "tp-class-student"];
if (keys.some((k) => localStorage.getItem(k)) || sessionStorage.getItem("tp-present"))
  import("./class/bar.js");
