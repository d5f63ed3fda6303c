// Case page: reveal the petitioner's full identity number and phone on request (audited).
import { api } from "./http.js";

const button = document.getElementById("unmask");
button?.addEventListener("click", async () => {
  const id = document.getElementById("petitioner").dataset.id;
  const person = await api("GET", `/api/petitioners/${id}`);
  document.getElementById("pid").textContent = person.id_number;
  document.getElementById("pphone").textContent = person.phone;
  button.hidden = true;
});
