// Reception-room console: the line's live queue, call next, the video call, notes and outcome.
import { api, ApiError } from "./http.js";
import { SignalingClient } from "./signaling.js";
import { HubCall } from "./call.js";

const $ = (id) => document.getElementById(id);
const client = new SignalingClient();
const queues = new Map();
let call = null;
let visit = null;
let notesTimer = null;

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
      li.textContent = `${t.number} ${t.name} · ${t.channel === "remote" ? "远程视频" : "现场"} · ${t.head_count}人`;
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
client.addEventListener("peer_state", (ev) => {
  const d = ev.detail.data;
  if (!d.participant.startsWith("terminal")) return;
  const names = { connected: "来访人已接通", failed: "来访人连接失败", closed: "来访人已离开", disconnected: "来访人连接中断" };
  $("call-state").textContent = names[d.state] ?? d.state;
});

async function openVisit(v) {
  visit = v;
  $("visit-ticket").textContent = v.ticket.number;
  $("visit-summary").textContent = v.case.summary;
  $("notes").value = v.notes ?? "";
  $("visit-panel").hidden = false;
  $("ended-panel").hidden = true;
  $("call-next").disabled = true;
  $("call-state").textContent = "等待来访人接入…";
  await client.subscribe(`visit:${v.visit_id}`);
  call = new HubCall(client, { localVideo: $("local-video"), remoteVideo: $("remote-video") });
  await call.start(v.room);
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
  notesTimer = setTimeout(async () => {
    await api("PUT", `/api/visits/${visit.visit_id}/notes`, { notes: $("notes").value });
    $("notes-state").textContent = "已保存";
  }, 800);
});

$("end-visit").addEventListener("click", async () => {
  $("end-error").textContent = "";
  clearTimeout(notesTimer);
  try {
    const res = await api("POST", `/api/visits/${visit.visit_id}/end`, {
      outcome: $("outcome").value,
      notes: $("notes").value,
    });
    if (call) await call.stop();
    call = null;
    await client.unsubscribe(`visit:${visit.visit_id}`).catch(() => {});
    $("visit-panel").hidden = true;
    $("ended-panel").hidden = false;
    $("case-link").textContent = res.case_number;
    $("case-link").href = `/cases/${res.case_id}`;
    $("call-next").disabled = false;
    visit = null;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    $("end-error").textContent = err.message;
  }
});

async function main() {
  const [me, lines] = await Promise.all([api("GET", "/api/me"), api("GET", "/api/lines")]);
  await client.connect();
  for (const line of lines.filter((l) => me.line_ids.includes(l.id))) {
    await client.subscribe(`line:${line.code}`);
  }
  const live = await api("GET", "/api/visits/live");
  if (live) await openVisit(live);
  document.body.dataset.ready = "1";
}
main();
