// Village terminal page: register a petitioner and matter, wait in the queue, take the call.
import { api, ApiError } from "./http.js";
import { SignalingClient } from "./signaling.js";
import { HubCall } from "./call.js";

const $ = (id) => document.getElementById(id);
const sections = ["register", "waiting", "call", "finished"];
const show = (name) => sections.forEach((s) => ($(s).hidden = s !== name));

const client = new SignalingClient();
let call = null;
let ticketTopic = null;
let ticketId = null;

function fillSelect(select, items, label) {
  select.replaceChildren(...items.map((it) => new Option(label(it), it.code ?? it.id)));
}

function renderStatus(status) {
  $("ticket-number").textContent = status.number;
  $("ticket-line").textContent = `${status.line_name}接谈室`;
  if (status.state === "waiting") {
    $("ticket-ahead").textContent = status.ahead;
    $("ticket-position").textContent = status.position;
    $("ticket-estimate").textContent = status.estimate_band;
  }
}

async function follow(id) {
  if (ticketTopic) await client.unsubscribe(ticketTopic).catch(() => {});
  ticketId = id;
  ticketTopic = `ticket:${id}`;
  await client.subscribe(ticketTopic);
}

function showFinished(data) {
  $("case-number").textContent = data.case_number;
  $("query-code").textContent = data.query_code;
  show("finished");
}

// After a dropped connection: events may have been missed, so read the ticket's state again.
async function resync() {
  if (ticketId === null) return;
  const status = await api("GET", `/api/tickets/${ticketId}`);
  if (status.state === "done" && $("finished").hidden) {
    if (call) await call.stop();
    call = null;
    showFinished(status);
  } else if (status.state === "serving" && !call && status.room) {
    await startCall(status.room);
  }
}

async function startCall(room) {
  show("call");
  $("call-state").textContent = "正在接通…";
  call = new HubCall(client, { localVideo: $("local-video"), remoteVideo: $("remote-video") });
  call.addEventListener("state", (ev) => {
    const names = { connected: "已接通", connecting: "正在接通…", failed: "连接失败", disconnected: "连接中断，正在恢复…" };
    $("call-state").textContent = names[ev.detail] ?? ev.detail;
  });
  try {
    await call.start(room);
  } catch (err) {
    $("call-state").textContent = `接通失败：${err.message}`;
  }
}

client.addEventListener("ticket_status", (ev) => {
  const status = ev.detail.data;
  renderStatus(status);
  if (status.state === "waiting") show("waiting");
});
client.addEventListener("visit_started", (ev) => startCall(ev.detail.data.room));
client.addEventListener("visit_ended", async (ev) => {
  const data = ev.detail.data;
  if (call) await call.stop();
  call = null;
  showFinished(data);
});

$("register-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const body = Object.fromEntries(form.entries());
  body.head_count = Number(body.head_count || 1);
  body.village_id = body.village_id ? Number(body.village_id) : null;
  $("register-error").textContent = "";
  for (const input of ev.target.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  try {
    const res = await api("POST", "/api/visit-requests", body);
    renderStatus(res.ticket);
    show("waiting");
    await follow(res.ticket.id);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const reasons = Object.entries(err.fields).map(([field, why]) => {
      ev.target.elements[field]?.setAttribute("aria-invalid", "true");
      return why;
    });
    $("register-error").textContent = [err.message, ...reasons].join("；");
  }
});

$("new-visit").addEventListener("click", () => {
  ticketId = null;
  $("register-form").reset();
  show("register");
});

async function main() {
  const [lines, villages] = await Promise.all([api("GET", "/api/lines"), api("GET", "/api/villages")]);
  fillSelect($("register-form").elements.line, lines, (l) => `${l.name}（${l.code}）`);
  fillSelect($("register-form").elements.village_id, villages, (v) => `${v.name}（${v.township}）`);
  await client.connect();
  // A reopened tab finds its ticket (and its live call) again.
  const active = await api("GET", "/api/terminal/tickets");
  if (active.length) {
    const ticket = active[active.length - 1];
    await follow(ticket.id);
    if (ticket.state === "serving" && ticket.visit_id) await startCall(`visit-${ticket.visit_id}`);
  }
  client.addEventListener("open", () => resync().catch(() => {}));
  document.body.dataset.ready = "1";
}
main();
