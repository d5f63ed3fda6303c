// Printable notice (告知书): the toolbar's print button; the toolbar itself is not printed.
document.getElementById("print")?.addEventListener("click", () => window.print());
