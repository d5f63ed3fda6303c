// Village terminal page: register a petitioner and matter, wait in the queue, take the call.
// Follows its ticket through transfers (ticket_moved) and missed calls (visit_missed).
import { api, ApiError } from "./http.js";
import { SignalingClient } from "./signaling.js";
import { HubCall } from "./call.js";
import { documentItem, listDocuments, uploadDocument, uploadError } from "./documents.js";
import { collectiveBody, markInvalid, setupCollective, submitRegistration } from "./registration.js";

const $ = (id) => document.getElementById(id);
const sections = ["register", "waiting", "call", "finished"];
let pending = [];
let caseId = null; // the case of the matter registered here: evidence goes to it (上传材料)
const show = (name) => {
  sections.forEach((s) => ($(s).hidden = s !== name));
  $("evaluations").hidden = name !== "register" || pending.length === 0;
  $("materials").hidden = caseId === null || name === "register";
};

const client = new SignalingClient();
let call = null;
let ticketTopic = null;
let ticketId = null;

// Ticket states after which the place is gone, with what the operator is told.
const ENDED = {
  abandoned: "排队已失效（已取消，或断线超过保留时间）。如需继续，请重新登记。",
  no_show: "多次未接通，请联系登记分流区",
  expired: "今日接访已结束，排队号已失效。",
};

function fillSelect(select, items, label) {
  select.replaceChildren(...items.map((it) => new Option(label(it), it.code ?? it.id)));
}

function message(id, text, bad = false) {
  $(id).textContent = text ?? "";
  $(id).hidden = !text;
  $(id).classList.toggle("bad", bad);
}

function placeGone(text) {
  $("ticket-place").hidden = true;
  $("leave-actions").hidden = true;
  $("waiting-done").hidden = false;
  message("queue-message", text, true);
  show("waiting");
}

function renderStatus(status) {
  if (status.number) $("ticket-number").textContent = status.number;
  if (status.line_name) $("ticket-line").textContent = `${status.line_name}接谈室`;
  if (status.state === "waiting") {
    $("ticket-ahead").textContent = status.ahead;
    $("ticket-position").textContent = status.position;
    $("ticket-estimate").textContent = status.estimate_band;
    $("ticket-place").hidden = false;
    $("leave-actions").hidden = false;
    $("waiting-done").hidden = true;
    // Back in the queue (the desk reactivated a no-show): the old warning no longer holds.
    if ($("queue-message").classList.contains("bad")) message("queue-message", "");
    show("waiting");
  } else if (status.state === "offered") {
    $("ticket-place").hidden = true;
    message("queue-message", "即将轮到您，正在为您分配接访人员，请留在屏幕前…");
    show("waiting");
  } else if (ENDED[status.state]) {
    placeGone(ENDED[status.state]);
  }
}

async function follow(id) {
  if (ticketTopic) await client.unsubscribe(ticketTopic).catch(() => {});
  ticketId = id;
  ticketTopic = `ticket:${id}`;
  await client.subscribe(ticketTopic);
}

async function unfollow() {
  if (ticketTopic) await client.unsubscribe(ticketTopic).catch(() => {});
  ticketTopic = null;
  ticketId = null;
}

async function stopCall() {
  if (call) await call.stop();
  call = null;
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
    await stopCall();
    showFinished(status);
  } else if (status.state === "serving" && !call && status.room) {
    await startCall(status.room);
  } else if (status.state !== "serving" && status.state !== "done") {
    renderStatus(status);
  }
}

async function startCall(room) {
  show("call");
  message("queue-message", "");
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
  if (ev.detail.topic !== ticketTopic) return; // a late event of a ticket no longer followed
  renderStatus(ev.detail.data);
});
client.addEventListener("visit_started", (ev) => startCall(ev.detail.data.room));
client.addEventListener("visit_ended", async (ev) => {
  if (ev.detail.topic !== ticketTopic) return;
  await stopCall();
  // The event names the case only: the query code is read from the ticket, which only the
  // terminal that registered it may see.
  showFinished(await api("GET", `/api/tickets/${ticketId}`));
});
client.addEventListener("visit_missed", async (ev) => {
  const d = ev.detail.data;
  await stopCall();
  if (d.no_show) placeGone("多次未接通，请联系登记分流区");
  else {
    message("queue-message", "未能接通，已为您保留排队位置");
    show("waiting");
  }
});
client.addEventListener("ticket_moved", async (ev) => {
  if (ev.detail.topic !== ticketTopic) return;
  const d = ev.detail.data;
  await stopCall();
  $("ticket-number").textContent = d.number;
  message("queue-message", `您的事项已转至新的接谈队列，新排队号 ${d.number}，已保留等候时间。`);
  show("waiting");
  await follow(d.ticket_id);
});

$("priority").addEventListener("change", () => {
  $("priority-reason-label").hidden = !$("priority").checked;
});

$("register-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const body = {
    name: f.name.value,
    id_number: f.id_number.value,
    phone: f.phone.value,
    village_id: f.village_id.value ? Number(f.village_id.value) : null,
    head_count: Number(f.head_count.value || 1),
    summary: f.summary.value,
    line: f.line.value,
    priority_class: f.priority.checked ? "priority" : "normal",
    ...collectiveBody(ev.target),
  };
  if (f.priority.checked) body.priority_reason = f.priority_reason.value;
  $("register-error").textContent = "";
  message("register-message", "");
  for (const input of ev.target.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  $("start-visit").disabled = true;
  try {
    const res = await submitRegistration(body, $("repeat-prompt"));
    if (res === null) return; // back to the form (可能重复: 返回修改)
    await showMaterials(res.case_id);
    message("queue-message", "");
    $("ticket-case-number").textContent = res.case_number;
    $("ticket-linked").hidden = !res.linked;
    $("ticket-case").hidden = false;
    renderStatus(res.ticket);
    show("waiting");
    await follow(res.ticket.id);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    markInvalid(ev.target, err.fields);
    $("register-error").textContent = [err.message, ...Object.values(err.fields)].join("；");
  } finally {
    $("start-visit").disabled = false;
  }
});

$("leave-queue").addEventListener("click", () => {
  $("leave-queue").hidden = true;
  $("leave-confirm").hidden = false;
});
$("leave-no").addEventListener("click", () => {
  $("leave-queue").hidden = false;
  $("leave-confirm").hidden = true;
});
$("leave-yes").addEventListener("click", async () => {
  $("leave-error").textContent = "";
  try {
    const res = await api("POST", `/api/tickets/${ticketId}/leave`);
    await unfollow();
    $("register-form").reset();
    $("priority-reason-label").hidden = true;
    message("register-message", `已取消排队（${res.number}）。`);
    show("register");
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    $("leave-error").textContent = err.message;
  } finally {
    $("leave-queue").hidden = false;
    $("leave-confirm").hidden = true;
  }
});

// 待评价: answered cases registered here; the agent records the petitioner's own grade.
let evaluating = null;

function pendingItem(p) {
  const li = document.createElement("li");
  li.dataset.case = p.case_id;
  const head = document.createElement("p");
  const number = document.createElement("strong");
  number.textContent = p.number;
  head.append(number, ` ${p.petitioner} · ${p.line} · 答复结果：${p.outcome || "—"} · 请于 ${p.deadline} 前评价`);
  const summary = document.createElement("p");
  summary.className = "hint";
  summary.textContent = p.summary;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "evaluate";
  button.textContent = "代为评价";
  button.addEventListener("click", () => openEvaluation(p));
  li.append(head, summary, button);
  return li;
}

function openEvaluation(p) {
  evaluating = p;
  const form = $("evaluation-form");
  form.reset();
  $("ev-number").textContent = p.number;
  $("evaluation-error").textContent = "";
  form.hidden = false;
}

async function loadPending() {
  const data = await api("GET", "/api/terminal/evaluations");
  pending = data.cases;
  $("pending-list").replaceChildren(...pending.map(pendingItem));
  $("pending-count").textContent = String(pending.length);
  if (!pending.some((p) => p.case_id === evaluating?.case_id)) $("evaluation-form").hidden = true;
  $("evaluations").hidden = $("register").hidden || pending.length === 0;
}

$("evaluation-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const grade = form.querySelector("input[name=grade]:checked")?.value;
  if (!grade) {
    $("evaluation-error").textContent = "请选择信访人的评价";
    return;
  }
  try {
    const res = await api("POST", `/api/terminal/cases/${evaluating.case_id}/evaluation`, {
      grade,
      comment: form.elements.comment.value,
    });
    evaluating = null;
    form.hidden = true;
    message("evaluation-message", `已记录事项 ${res.number} 的评价：${res.grade_label}（经本终端录入）。`);
    await loadPending();
    if (!pending.length) $("evaluations").hidden = false; // keep the confirmation in sight
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    $("evaluation-error").textContent = err.message;
  }
});
$("evaluation-cancel").addEventListener("click", () => {
  evaluating = null;
  $("evaluation-form").hidden = true;
});

async function newVisit() {
  await unfollow();
  caseId = null;
  $("ticket-case").hidden = true;
  $("register-form").reset();
  $("priority-reason-label").hidden = true;
  message("register-message", "");
  show("register");
  await loadPending();
}
$("new-visit").addEventListener("click", newVisit);
$("waiting-new").addEventListener("click", newVisit);

// Evidence for the registered matter (上传材料): the list of what was uploaded, and the form.
async function showMaterials(id) {
  caseId = id;
  $("material-form").reset();
  message("material-message", "");
  $("material-error").textContent = "";
  const docs = await listDocuments(id).catch(() => []); // the form works without the list
  $("material-list").replaceChildren(...docs.map(documentItem));
}

$("material-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  $("material-error").textContent = "";
  message("material-message", "");
  $("material-submit").disabled = true;
  try {
    const doc = await uploadDocument(caseId, {
      file: f.file.files[0],
      note: f.note.value,
      maxBytes: Number($("materials").dataset.maxBytes),
    });
    $("material-list").append(documentItem(doc));
    ev.target.reset();
    message("material-message", `已上传：${doc.name}`);
  } catch (err) {
    $("material-error").textContent = uploadError(err);
  } finally {
    $("material-submit").disabled = false;
  }
});
setupCollective($("register-form"));

async function main() {
  const [lines, villages] = await Promise.all([api("GET", "/api/lines"), api("GET", "/api/villages")]);
  fillSelect($("register-form").elements.line, lines, (l) => `${l.name}（${l.code}）`);
  fillSelect($("register-form").elements.village_id, villages, (v) => `${v.name}（${v.township}）`);
  await client.connect();
  // A reopened tab finds its ticket (and its live call) again.
  const active = await api("GET", "/api/terminal/tickets");
  if (active.length) {
    const ticket = active[active.length - 1];
    await showMaterials(ticket.case_id);
    await follow(ticket.id);
    if (ticket.state === "serving" && ticket.visit_id) await startCall(`visit-${ticket.visit_id}`);
  }
  client.addEventListener("open", () => resync().catch(() => {}));
  await loadPending();
  document.body.dataset.ready = "1";
}
main();
