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

// State transitions (办理状态): the allowed next states for this account, with a reason.
const panel = document.getElementById("transitions");
const value = (id) => document.getElementById(id).value;

function render(state) {
  document.getElementById("t-stage").textContent = `${state.stage}（${state.state}）`;
  const select = document.getElementById("t-to");
  select.replaceChildren(
    ...state.allowed.map((a) => {
      const option = document.createElement("option");
      option.value = a.to;
      option.textContent = a.label;
      return option;
    }),
  );
  document.getElementById("transition-form").hidden = state.allowed.length === 0;
  panel.hidden = false;
}

if (panel) {
  const path = `/api/cases/${panel.dataset.case}/transitions`;
  api("GET", path).then(render, () => {}); // 403: this account does not change states
  document.getElementById("transition-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("t-error");
    error.hidden = true;
    const body = { to: value("t-to"), reason: value("t-reason") };
    if (value("t-classification")) body.classification = value("t-classification");
    if (value("t-claim-type")) body.claim_type = Number(value("t-claim-type"));
    if (value("t-outcome")) body.outcome = value("t-outcome");
    if (value("t-days")) body.extension_days = Number(value("t-days"));
    try {
      await api("POST", path, body);
      location.reload();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
}
