// Reception-room console: the officer's state, the line's live queue, call next or accept an
// auto-offer, the video call, notes and outcome, 过号 and 转线 during a visit, a log of calls.
import { api, ApiError } from "./http.js";
import { SignalingClient } from "./signaling.js";
import { HubCall } from "./call.js";

const $ = (id) => document.getElementById(id);
const client = new SignalingClient();
const queues = new Map();
let call = null;
let starting = Promise.resolve();
let visit = null;
let notesTimer = null;
let me = null;
let lines = [];
let offer = null; // {ticket_id, number, deadline}
let offerTimer = null;
let wrapTimer = null;
const log = []; // this shift's calls, oldest first: {visit_id, number, result}

const CHANNELS = { remote: "远程视频", walk_in: "现场", appointment: "预约", transfer: "转办" };
const CLASSES = { priority: "优先", urgent: "加急" };
const STATES = { offline: "离线", available: "就绪", busy: "接访中", wrap_up: "整理中", away: "暂离" };
const AWAY_REASONS = { break: "休息", meeting: "开会", training: "培训", other: "其他", no_answer: "未应答", declined: "拒接" };
const OUTCOMES = { answered: "当场答复", accepted: "登记受理", transferred: "转送责任单位", redirected: "导入法定程序", explained: "解释说明" };

function badge(kind, text) {
  const span = document.createElement("span");
  span.className = `badge badge-${kind}`;
  span.textContent = text;
  return span;
}

// -- the queue ----------------------------------------------------------------------------

function renderQueues() {
  const parts = [];
  for (const q of queues.values()) {
    const section = document.createElement("div");
    section.className = "queue";
    const title = document.createElement("h2");
    title.textContent = `${q.line_name}（等候 ${q.waiting.length}）`;
    const list = document.createElement("ol");
    list.className = "waiting";
    for (const t of q.waiting) {
      const li = document.createElement("li");
      li.dataset.ticket = t.ticket_id;
      li.dataset.number = t.number;
      li.append(`${t.number} ${t.name} · ${CHANNELS[t.channel] ?? t.channel} · ${t.head_count}人`);
      const marks = [];
      if (CLASSES[t.class]) marks.push(badge(t.class, CLASSES[t.class]));
      if (t.state === "offered") marks.push(badge("offered", "分配中"));
      if (t.away) marks.push(badge("away", "离线"));
      if (t.missed) marks.push(badge("missed", `过号 ${t.missed}`));
      if (marks.length) li.append(" ", ...marks);
      list.append(li);
    }
    section.append(title, list);
    parts.push(section);
  }
  $("queues").replaceChildren(...parts);
}

client.addEventListener("queue", (ev) => {
  queues.set(ev.detail.data.line, ev.detail.data);
  renderQueues();
});

// -- the officer's state ------------------------------------------------------------------

function renderState(s) {
  clearInterval(wrapTimer);
  let label = STATES[s.state] ?? s.state;
  if (s.state === "away" && s.reason) label += ` · ${AWAY_REASONS[s.reason] ?? s.reason}`;
  $("officer-state").textContent = label;
  $("officer-state").className = `chip state-${s.state}`;
  $("officer-state").dataset.state = s.state;
  const busy = s.state === "busy";
  $("state-available").disabled = busy || s.state === "available";
  $("state-away").disabled = busy;
  $("wrap-countdown").textContent = "";
  if (s.state === "wrap_up" && s.wrap_up_until) {
    const until = Date.parse(s.wrap_up_until);
    const tick = () => {
      const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      $("wrap-countdown").textContent = `${left} 秒后自动就绪`;
      if (left === 0) clearInterval(wrapTimer);
    };
    tick();
    wrapTimer = setInterval(tick, 1000);
  }
}

client.addEventListener("officer_state", async (ev) => {
  const s = ev.detail.data;
  // The subscription snapshot carries no wrap-up deadline: read it.
  if (s.state === "wrap_up" && !("wrap_up_until" in s)) renderState(await api("GET", "/api/officer/state"));
  else renderState(s);
});

async function setState(body) {
  $("state-error").textContent = "";
  try {
    renderState(await api("PUT", "/api/officer/state", body));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    $("state-error").textContent = err.message;
  }
}
$("state-available").addEventListener("click", () => setState({ state: "available" }));
$("state-away").addEventListener("click", () => setState({ state: "away", reason: $("away-reason").value }));

// -- auto-offers --------------------------------------------------------------------------

function hideOffer(message) {
  offer = null;
  clearInterval(offerTimer);
  $("offer-panel").hidden = true;
  $("offer-message").hidden = !message;
  $("offer-message").textContent = message ?? "";
}

client.addEventListener("offer", (ev) => {
  const d = ev.detail.data;
  // Counted from arrival with the server's timeout: the browser's clock may be off.
  offer = { ticket_id: d.ticket_id, number: d.number, deadline: Date.now() + d.timeout_s * 1000 };
  $("offer-number").textContent = d.number;
  $("offer-class").replaceChildren(...(CLASSES[d.class] ? [badge(d.class, CLASSES[d.class])] : []));
  $("offer-error").textContent = "";
  $("offer-message").hidden = true;
  $("offer-panel").hidden = false;
  $("offer-panel").dataset.ticket = d.ticket_id;
  clearInterval(offerTimer);
  const tick = () => {
    $("offer-countdown").textContent = String(Math.max(0, Math.ceil((offer.deadline - Date.now()) / 1000)));
  };
  tick();
  offerTimer = setInterval(tick, 250);
});

client.addEventListener("offer_withdrawn", (ev) => {
  const d = ev.detail.data;
  if (!offer || offer.ticket_id !== d.ticket_id) return;
  hideOffer(d.reason === "timeout" ? `${offer.number} 超时未接听，已转给其他接访人员；您的状态已设为暂离。` : `${offer.number} 的分配已撤回。`);
});

$("offer-accept").addEventListener("click", async () => {
  if (!offer) return;
  const ticketId = offer.ticket_id;
  $("offer-error").textContent = "";
  try {
    const v = await api("POST", `/api/offers/${ticketId}/accept`);
    hideOffer();
    await openVisit(v);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    hideOffer(err.message);
  }
});

$("offer-decline").addEventListener("click", async () => {
  if (!offer) return;
  const { ticket_id: ticketId, number } = offer;
  try {
    await api("POST", `/api/offers/${ticketId}/decline`);
    hideOffer(`已拒绝 ${number}；您的状态已设为暂离，准备好后请点“就绪”。`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    hideOffer(err.message);
  }
});

// -- the call log -------------------------------------------------------------------------

function renderLog() {
  const items = log.map((entry) => {
    const li = document.createElement("li");
    li.dataset.visit = entry.visit_id;
    const num = document.createElement("strong");
    num.className = "number";
    num.textContent = entry.number;
    const result = document.createElement("span");
    result.className = "result";
    result.textContent = entry.result;
    li.append(num, result);
    return li;
  });
  $("call-log").replaceChildren(...items);
  $("call-log-empty").hidden = log.length > 0;
}

function logResult(visitId, result) {
  const entry = log.find((e) => e.visit_id === visitId);
  if (entry) entry.result = result;
  renderLog();
}

// -- the visit ----------------------------------------------------------------------------

client.addEventListener("peer_state", (ev) => {
  const d = ev.detail.data;
  if (!d.participant.startsWith("terminal")) return;
  const names = { connected: "来访人已接通", failed: "来访人连接失败", closed: "来访人已离开", disconnected: "来访人连接中断" };
  $("call-state").textContent = names[d.state] ?? d.state;
});

async function openVisit(v) {
  visit = v;
  if (!log.some((e) => e.visit_id === v.visit_id)) log.push({ visit_id: v.visit_id, number: v.ticket.number, result: "接访中" });
  renderLog();
  $("visit-ticket").textContent = v.ticket.number;
  $("visit-summary").textContent = v.case.summary;
  $("notes").value = v.notes ?? "";
  $("notes-state").textContent = "";
  $("visit-error").textContent = "";
  $("end-error").textContent = "";
  $("transfer-reason").value = "";
  $("visit-panel").hidden = false;
  $("ended-panel").hidden = true;
  $("call-next").disabled = true;
  $("call-state").textContent =
    v.ticket.channel === "remote" ? "等待来访人接入…" : "现场来访：请来访人到接谈室，本端录音录像。";
  await client.subscribe(`visit:${v.visit_id}`);
  call = new HubCall(client, { localVideo: $("local-video"), remoteVideo: $("remote-video") });
  starting = call.start(v.room).catch((err) => {
    $("call-state").textContent = `媒体连接失败：${err.message}`;
  });
  await starting;
}

// Leave the call and the visit view, and show what happened.
async function closeVisit({ title, text, caseNumber = null, caseId = null }) {
  clearTimeout(notesTimer);
  const ended = visit;
  visit = null;
  // A visit ended at once (过号 on a walk-in) must not leave a half-started call behind.
  await starting;
  if (call) await call.stop();
  call = null;
  if (ended) await client.unsubscribe(`visit:${ended.visit_id}`).catch(() => {});
  $("visit-panel").hidden = true;
  $("ended-panel").hidden = false;
  $("ended-title").textContent = title;
  $("ended-text").textContent = text ?? "";
  $("ended-case").hidden = caseNumber === null;
  $("ended-note").hidden = caseNumber === null;
  if (caseNumber !== null) {
    $("case-link").textContent = caseNumber;
    $("case-link").href = `/cases/${caseId}`;
  }
  $("call-next").disabled = false;
}

$("call-next").addEventListener("click", async () => {
  $("call-error").textContent = "";
  try {
    await openVisit(await api("POST", "/api/queue/call-next"));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    $("call-error").textContent = err.message;
  }
});

$("notes").addEventListener("input", () => {
  clearTimeout(notesTimer);
  $("notes-state").textContent = "未保存";
  const visitId = visit.visit_id;
  notesTimer = setTimeout(async () => {
    await api("PUT", `/api/visits/${visitId}/notes`, { notes: $("notes").value });
    $("notes-state").textContent = "已保存";
  }, 800);
});

$("end-visit").addEventListener("click", async () => {
  $("end-error").textContent = "";
  clearTimeout(notesTimer);
  const current = visit;
  try {
    const outcome = $("outcome").value;
    const res = await api("POST", `/api/visits/${current.visit_id}/end`, { outcome, notes: $("notes").value });
    logResult(current.visit_id, `已结束 · ${OUTCOMES[outcome] ?? outcome}`);
    await closeVisit({ title: "接访已结束", caseNumber: res.case_number, caseId: res.case_id });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    $("end-error").textContent = err.message;
  }
});

$("visit-missed").addEventListener("click", async () => {
  $("visit-error").textContent = "";
  const current = visit;
  try {
    const res = await api("POST", `/api/visits/${current.visit_id}/missed`);
    const noShow = res.state === "no_show";
    const text = noShow
      ? `${res.number} 已过号 ${res.missed_count} 次，转为未到；来访人可到登记分流区恢复。`
      : `${res.number} 已过号（第 ${res.missed_count} 次），已顺延排队。`;
    logResult(current.visit_id, noShow ? "过号 · 未到" : "过号");
    await closeVisit({ title: "已过号", text });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    $("visit-error").textContent = err.message;
  }
});

$("visit-transfer").addEventListener("click", async () => {
  $("visit-error").textContent = "";
  $("transfer-reason").removeAttribute("aria-invalid");
  const current = visit;
  const target = lines.find((l) => l.code === $("transfer-line").value);
  try {
    const res = await api("POST", `/api/tickets/${current.ticket.id}/transfer`, {
      line: $("transfer-line").value,
      reason: $("transfer-reason").value.trim(),
    });
    logResult(current.visit_id, `转至${target ? target.name : ""} ${res.to.number}`);
    await closeVisit({
      title: "已转线",
      text: `${res.from.number} 已转至${target ? target.name : ""}，新排队号 ${res.to.number}（保留已等候时间）。`,
    });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.fields.reason) $("transfer-reason").setAttribute("aria-invalid", "true");
    $("visit-error").textContent = [err.message, ...Object.values(err.fields)].join("；");
  }
});

async function main() {
  const [who, lineList] = await Promise.all([api("GET", "/api/me"), api("GET", "/api/lines")]);
  me = who;
  lines = lineList;
  $("transfer-line").replaceChildren(
    ...lines.filter((l) => !me.line_ids.includes(l.id)).map((l) => new Option(`${l.letter} · ${l.name}`, l.code)),
  );
  await client.connect();
  await client.subscribe(`officer:${me.id}`);
  for (const line of lines.filter((l) => me.line_ids.includes(l.id))) {
    await client.subscribe(`line:${line.code}`);
  }
  const live = await api("GET", "/api/visits/live");
  if (live) await openVisit(live);
  document.body.dataset.ready = "1";
}
main();
