// A live class's bars load only in a class or while presenting
const keys = ["tp-class-teacher", "tp-class-student"];
if (keys.some((k) => localStorage.getItem(k)) || sessionStorage.getItem("tp-present")) import("./class/bar.js");
