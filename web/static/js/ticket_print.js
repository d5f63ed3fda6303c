// Ticket slip (排队凭条): the print button; opened from the desk with ?print=1, it goes straight
// to the print dialog.
document.getElementById("print-button")?.addEventListener("click", () => window.print());
if (new URLSearchParams(location.search).get("print") === "1") {
  window.addEventListener("load", () => setTimeout(() => window.print(), 200));
}
