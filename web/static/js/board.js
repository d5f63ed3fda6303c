// Hall display board (叫号屏): the latest calls and the waiting counts, live over the WebSocket
// `board` topic; a chime (WebAudio, no audio file) on every call; recovers by itself after a drop.
import { SignalingClient } from "./signaling.js";

const $ = (id) => document.getElementById(id);
const client = new SignalingClient();
const KEEP = 8;
let calls = []; // newest first: {ticket_id, number, line, line_name, room, name, at}
let audio = null;

const key = (c) => `${c.ticket_id}@${c.at}`;

// -- clock --------------------------------------------------------------------------------

const dateFmt = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "long", day: "numeric", weekday: "long",
});
const timeFmt = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
const hm = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false,
});

function tick() {
  const now = new Date();
  $("clock-date").textContent = dateFmt.format(now);
  $("clock-time").textContent = timeFmt.format(now);
}

// -- sound --------------------------------------------------------------------------------

function audioContext() {
  if (!audio) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    audio = new Ctx();
  }
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

function tone(ctx, freq, start, length) {
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = "sine";
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(0.5, start + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
  osc.connect(gain).connect(ctx.destination);
  osc.start(start);
  osc.stop(start + length + 0.05);
}

// A two-tone "ding-dong"; counted in body[data-chimes] when the sound could actually play.
function chime() {
  const ctx = audioContext();
  if (!ctx || ctx.state !== "running") {
    $("enable-sound").hidden = false;
    document.body.dataset.chimesMuted = String(Number(document.body.dataset.chimesMuted || 0) + 1);
    return;
  }
  const t = ctx.currentTime + 0.02;
  tone(ctx, 880, t, 0.6);
  tone(ctx, 659.25, t + 0.45, 0.9);
  document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
}

// Read the call out when the TV has a Chinese voice (many have none offline: then just the chime).
function announce(call) {
  const synth = window.speechSynthesis;
  if (!synth) return;
  const voice = synth.getVoices().find((v) => v.lang && v.lang.toLowerCase().startsWith("zh"));
  if (!voice) return;
  const spoken = call.number.split("").join(" ");
  const utterance = new SpeechSynthesisUtterance(`请 ${spoken} 号，到${call.room}`);
  utterance.voice = voice;
  utterance.lang = voice.lang;
  synth.speak(utterance);
}

$("enable-sound").addEventListener("click", async () => {
  const ctx = audioContext();
  if (ctx) await ctx.resume().catch(() => {});
  $("enable-sound").hidden = ctx && ctx.state === "running";
});

// -- rendering ----------------------------------------------------------------------------

function renderCalls(fresh) {
  const latest = calls[0];
  $("latest-number").textContent = latest ? latest.number : "—";
  $("latest-name").textContent = latest ? latest.name : "";
  $("latest-room").textContent = latest ? latest.room : "暂无叫号";
  $("latest").dataset.ticket = latest ? latest.ticket_id : "";
  if (fresh) {
    // Restart the highlight animation for a new call.
    $("latest").classList.remove("flash");
    void $("latest").offsetWidth;
    $("latest").classList.add("flash");
  }
  const items = calls.slice(1, KEEP).map((c) => {
    const li = document.createElement("li");
    li.dataset.ticket = c.ticket_id;
    const num = document.createElement("span");
    num.className = "recent-number";
    num.textContent = c.number;
    const name = document.createElement("span");
    name.className = "recent-name";
    name.textContent = c.name;
    const room = document.createElement("span");
    room.className = "recent-room";
    room.textContent = `→ ${c.room}`;
    const at = document.createElement("time");
    at.textContent = hm.format(new Date(c.at));
    li.append(num, name, room, at);
    return li;
  });
  $("recent").replaceChildren(...items);
}

function renderCounts(counts) {
  let total = 0;
  const items = counts.lines.map((line) => {
    total += line.waiting;
    const li = document.createElement("li");
    li.dataset.line = line.code;
    const name = document.createElement("span");
    name.textContent = line.name;
    const count = document.createElement("strong");
    count.textContent = String(line.waiting);
    li.classList.toggle("zero", line.waiting === 0);
    li.append(name, count);
    return li;
  });
  $("counts").replaceChildren(...items);
  $("total").textContent = String(total);
}

client.addEventListener("board", (ev) => {
  // A (re)subscription's snapshot: calls made while the connection was down ring once.
  const data = ev.detail.data;
  const before = calls.length ? key(calls[0]) : null;
  calls = data.calls.slice(0, KEEP);
  const newer = calls.length && before !== null && key(calls[0]) !== before;
  renderCalls(newer);
  renderCounts(data.counts);
  if (newer) chime();
  document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots || 0) + 1);
});

client.addEventListener("called", (ev) => {
  const call = ev.detail.data;
  calls = [call, ...calls.filter((c) => key(c) !== key(call))].slice(0, KEEP);
  renderCalls(true);
  chime();
  announce(call);
});

client.addEventListener("counts", (ev) => renderCounts(ev.detail.data));

client.addEventListener("close", () => {
  $("board-conn").hidden = false;
  document.body.dataset.online = "0";
});
client.addEventListener("open", () => {
  $("board-conn").hidden = true;
  document.body.dataset.online = "1";
});

// A connection can die without a close event (a cable pulled, a switch rebooted): if the server
// stops answering pings, drop the socket so the client reconnects and takes a fresh snapshot.
async function watchdog() {
  const ws = client.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  try {
    await client.request({ type: "ping" }, 4000);
  } catch (_) {
    if (client.ws === ws && ws.readyState === WebSocket.OPEN) ws.close();
  }
}

async function main() {
  tick();
  setInterval(tick, 1000);
  audioContext();
  await client.connect();
  await client.subscribe("board");
  setInterval(watchdog, 5000);
  document.body.dataset.ready = "1";
}
main();
