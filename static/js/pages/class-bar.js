// A live class's bars load only in a class or while presenting
const inClass = ["tp-class-teacher", "tp-class-student"].some((k) => localStorage.getItem(k));
if (inClass || sessionStorage.getItem("tp-present")) import("./class/bar.js");
