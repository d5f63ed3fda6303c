// Supervisor queue page: re-reads GET /api/queue/stats every few seconds and updates the cells.
import { api } from "./http.js";

const root = document.getElementById("figures");
const errorBox = document.getElementById("refresh-error");
const updated = document.getElementById("updated");

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const whole = Math.round(seconds);
  const pad = (n) => String(n).padStart(2, "0");
  if (whole >= 3600) return `${Math.floor(whole / 3600)}小时${pad(Math.floor((whole % 3600) / 60))}分`;
  if (whole >= 60) return `${Math.floor(whole / 60)}分${pad(whole % 60)}秒`;
  return `${whole}秒`;
}

function format(value, fmt) {
  if (fmt === "dur") return duration(value);
  if (fmt === "pct") return value.value === null ? "—" : `${(value.value * 100).toFixed(1)}%`;
  if (fmt === "parts") return `${value.numerator} / ${value.denominator}`;
  return value === null || value === undefined ? "—" : String(value);
}

function render(data) {
  const byLine = new Map(data.lines.map((line) => [line.code, line.figures]));
  byLine.set("total", data.total);
  for (const section of root.querySelectorAll("[data-line]")) {
    const figures = byLine.get(section.dataset.line);
    if (!figures) continue;
    for (const cell of section.querySelectorAll("[data-f]")) {
      cell.textContent = format(figures[cell.dataset.f], cell.dataset.fmt);
    }
  }
  if (updated) {
    // The hall's local time (UTC+8), whatever the browser's zone.
    const local = new Date(Date.parse(data.now) + 8 * 3600 * 1000);
    updated.textContent = local.toISOString().slice(11, 19);
  }
}

async function refresh() {
  try {
    render(await api("GET", `/api/queue/stats?day=${encodeURIComponent(root.dataset.day)}`));
    errorBox.textContent = "";
  } catch (err) {
    errorBox.textContent = `刷新失败：${err.message}`;
  }
}

const every = Number(root?.dataset.refreshS ?? 0);
if (root && every > 0) setInterval(refresh, every * 1000);
