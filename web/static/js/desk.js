// Registration & triage desk (登记分流区): walk-in registration, follow-up tickets, every line's
// queue at a glance (live over the WebSocket), moving tickets between lines, no-shows.
import { api, ApiError } from "./http.js";
import { SignalingClient } from "./signaling.js";
import { collectiveBody, markInvalid, setupCollective, submitRegistration } from "./registration.js";

const $ = (id) => document.getElementById(id);
const client = new SignalingClient();
const root = $("desk");
const UNDO_WINDOW_S = Number(root.dataset.undoWindowS || 120);

const CHANNELS = { remote: "远程视频", walk_in: "现场", appointment: "预约", transfer: "转办" };
const CLASSES = { priority: "优先", urgent: "加急" };
const OFFICER_STATES = { offline: "离线", available: "就绪", busy: "接访中", wrap_up: "整理中", away: "暂离" };
const AWAY_REASONS = { break: "休息", meeting: "开会", training: "培训", other: "其他", no_answer: "未应答", declined: "拒接" };

let lines = [];
let data = { lines: [], no_shows: [], officers: [] };
let refreshTimer = null;
let lastMove = null; // {from, to, until}
let undoTimer = null;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "class") node.className = value;
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function waited(since) {
  const minutes = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 60000));
  return minutes < 60 ? `${minutes} 分` : `${Math.floor(minutes / 60)} 时 ${minutes % 60} 分`;
}

function officerLabel(o) {
  let state = OFFICER_STATES[o.state] ?? o.state;
  if (o.state === "away" && o.reason) state += `（${AWAY_REASONS[o.reason] ?? o.reason}）`;
  return el("span", { class: `chip state-${o.state}`, title: o.username }, `${o.name || o.username} · ${state}`);
}

// -- registration -------------------------------------------------------------------------

function klass(form) {
  return form.querySelector("input[name=priority_class]:checked")?.value ?? "normal";
}

function showClassFields() {
  const form = $("register-form");
  $("priority-fields").hidden = klass(form) !== "priority";
  $("urgent-fields").hidden = klass(form) !== "urgent";
}

function clearInvalid(form) {
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function showFieldErrors(form, box, err) {
  const names = { priority_reason: klass(form) === "urgent" ? "priority_reason_text" : "priority_reason_select" };
  markInvalid(form, err.fields, names);
  box.textContent = [err.message, ...Object.values(err.fields)].join("；");
}

function showIssued(ticket, registered = null) {
  $("issued-number").textContent = ticket.number;
  $("issued-case").hidden = !registered;
  if (registered) {
    $("issued-case-number").textContent = registered.case_number;
    $("issued-linked").hidden = !registered.linked;
  }
  const line = lines.find((l) => l.code === ticket.line);
  $("issued-line").textContent = line ? `${line.name}接谈室` : "";
  $("issued-wait").textContent =
    ticket.position ? `前面 ${ticket.ahead} 位，预计等候${ticket.estimate_band}` : "";
  $("issued-print").href = `/tickets/${ticket.id ?? ticket.ticket_id}/print?print=1`;
  $("issued").hidden = false;
  $("issued").scrollIntoView({ block: "nearest" });
}

setupCollective($("register-form"));

$("register-form").addEventListener("change", (ev) => {
  if (ev.target.name === "priority_class") showClassFields();
});

$("register-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const f = form.elements;
  const cls = klass(form);
  const body = {
    name: f.name.value,
    id_number: f.id_number.value.trim(),
    phone: f.phone.value.trim(),
    village_id: f.village_id.value ? Number(f.village_id.value) : null,
    head_count: Number(f.head_count.value || 1),
    summary: f.summary.value,
    line: f.line.value,
    priority_class: cls,
    ...collectiveBody(form),
  };
  if (cls === "priority") body.priority_reason = f.priority_reason_select.value;
  if (cls === "urgent") {
    body.priority_reason = f.priority_reason_text.value;
    body.approver = f.approver.value.trim();
  }
  $("register-error").textContent = "";
  $("issued").hidden = true;
  clearInvalid(form);
  $("register-submit").disabled = true;
  try {
    const res = await submitRegistration(body, $("repeat-prompt"));
    if (res === null) return; // back to the form (可能重复: 返回修改)
    showIssued(res.ticket, res);
    form.reset();
    showClassFields();
    f.name.focus();
    scheduleRefresh();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showFieldErrors(form, $("register-error"), err);
  } finally {
    $("register-submit").disabled = false;
  }
});

$("issued-close").addEventListener("click", () => {
  $("issued").hidden = true;
  $("register-form").elements.name.focus();
});

// A case is named by its number (JF + date + id) or its bare id.
function caseId(text) {
  const value = text.trim().toUpperCase();
  if (/^\d{1,12}$/.test(value)) return Number(value);
  const m = value.match(/^JF\d{8}(\d{6,})$/);
  return m ? Number(m[1]) : null;
}

$("follow-up-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = ev.target.elements.case;
  const id = caseId(input.value);
  $("follow-up-error").textContent = "";
  input.removeAttribute("aria-invalid");
  if (id === null) {
    input.setAttribute("aria-invalid", "true");
    $("follow-up-error").textContent = "请填写信访事项编号（JF开头）或事项ID";
    return;
  }
  try {
    const ticket = await api("POST", `/api/cases/${id}/follow-up`);
    const status = await api("GET", `/api/tickets/${ticket.id}`);
    showIssued({ ...status, id: ticket.id });
    ev.target.reset();
    scheduleRefresh();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    input.setAttribute("aria-invalid", "true");
    $("follow-up-error").textContent = err.message;
  }
});

// -- the queues ---------------------------------------------------------------------------

function ticketRow(line, t) {
  const badges = [];
  if (CLASSES[t.class]) badges.push(el("span", { class: `badge badge-${t.class}` }, CLASSES[t.class]));
  if (t.state === "offered") badges.push(el("span", { class: "badge badge-offered" }, "分配中"));
  if (t.away) badges.push(el("span", { class: "badge badge-away", title: "终端断线，保留排队位置" }, "离线"));
  if (t.missed) badges.push(el("span", { class: "badge badge-missed" }, `过号 ${t.missed}`));
  const actions = el("td", { class: "row-actions" });
  const justMoved = lastMove && lastMove.to.id === t.ticket_id && Date.now() < lastMove.until;
  if (justMoved) actions.append(el("button", { type: "button", class: "small warn", dataset: { act: "undo" } }, "撤回"));
  actions.append(
    el("button", { type: "button", class: "small", dataset: { act: "transfer" } }, "转线"),
    el("button", { type: "button", class: "small secondary", dataset: { act: "redirect" } }, "重新分流"),
    el("button", { type: "button", class: "small secondary", dataset: { act: "exclude" } }, "回避"),
    el("button", { type: "button", class: "small danger", dataset: { act: "leave" } }, "取消"),
  );
  const channel = CHANNELS[t.channel] ?? t.channel;
  return el(
    "tr",
    { dataset: { ticket: t.ticket_id, number: t.number, line: line.line } },
    el("td", { class: "num" }, t.number),
    el("td", { class: "name" }, t.name, t.head_count > 1 ? el("span", { class: "hint" }, ` 等${t.head_count}人`) : null),
    el("td", { class: "badges" }, ...badges),
    el("td", { class: "channel" }, channel),
    el("td", { class: "since hint" }, `已等 ${waited(t.since)}`),
    actions,
  );
}

function render() {
  const summary = el("div", { class: "line-tiles" });
  const sections = [];
  let total = 0;
  for (const line of data.lines) {
    total += line.count;
    const meta = lines.find((l) => l.code === line.line);
    const letter = meta ? meta.letter : "";
    summary.append(
      el(
        "a",
        { class: `tile${line.count ? " busy" : ""}`, href: `#line-${line.line}`, dataset: { line: line.line } },
        el("span", { class: "tile-name" }, `${letter} ${line.line_name}`),
        el("strong", { class: "tile-count" }, String(line.count)),
      ),
    );
    const officers = el("div", { class: "officers" }, ...line.officers.map(officerLabel));
    if (!line.officers.length) officers.append(el("span", { class: "hint" }, "无接访人员"));
    const head = el(
      "div",
      { class: "line-head" },
      el("h2", {}, `${letter} · ${line.line_name}`, el("span", { class: "count" }, `等候 ${line.count}`)),
      officers,
    );
    const body = line.waiting.length
      ? el("table", { class: "list tickets" }, el("tbody", {}, ...line.waiting.map((t) => ticketRow(line, t))))
      : el("p", { class: "hint empty" }, "无人等候");
    sections.push(el("section", { class: "line-queue", id: `line-${line.line}`, dataset: { line: line.line } }, head, body));
  }
  $("lines").replaceChildren(summary, ...sections);
  $("total-waiting").textContent = String(total);

  const rows = data.no_shows.map((t) =>
    el(
      "tr",
      { dataset: { ticket: t.id, number: t.number } },
      el("td", { class: "num" }, t.number),
      el("td", {}, t.line_name ?? ""),
      el("td", {}, t.name ?? ""),
      el("td", {}, String(t.missed_count)),
      el("td", {}, el("button", { type: "button", class: "small", dataset: { act: "reactivate" } }, "恢复")),
    ),
  );
  $("no-shows").tBodies[0].replaceChildren(...rows);
  $("no-shows").hidden = rows.length === 0;
  $("no-shows-empty").hidden = rows.length !== 0;
}

async function refresh() {
  try {
    data = await api("GET", "/api/queues");
    $("queue-error").textContent = "";
    render();
  } catch (err) {
    $("queue-error").textContent = `队列刷新失败：${err.message}`;
  }
}

// Several events arrive together (a transfer touches two lines): read once.
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 120);
}

function findTicket(id) {
  for (const line of data.lines) {
    const t = line.waiting.find((w) => w.ticket_id === id);
    if (t) return { line, ticket: t };
  }
  return null;
}

// -- actions ------------------------------------------------------------------------------

const dialog = $("action-dialog");
let pending = null; // {act, ticket, line}

const ACTIONS = {
  transfer: { title: "转线", hint: "转至其他条线，保留已等候时间。", fields: ["line", "reason"], submit: "确认转线" },
  redirect: { title: "重新分流", hint: "分流至其他条线，按新到达重新排队（不保留等候时间）。", fields: ["line", "reason"], submit: "确认分流" },
  exclude: { title: "回避", hint: "指定的接访人员将不会接待该来访人。", fields: ["username", "reason"], submit: "确认回避" },
  leave: { title: "取消排队", hint: "来访人放弃本次排队，排队号作废。", fields: [], submit: "确认取消" },
};

function openDialog(act, line, ticket) {
  const spec = ACTIONS[act];
  pending = { act, line, ticket };
  const form = $("action-form");
  form.reset();
  $("action-title").textContent = `${spec.title} · ${ticket.number} ${ticket.name}`;
  $("action-hint").textContent = spec.hint;
  $("action-error").textContent = "";
  clearInvalid(form);
  for (const label of form.querySelectorAll("label[data-for]")) label.hidden = !spec.fields.includes(label.dataset.for);
  form.elements.line.replaceChildren(
    ...lines.filter((l) => l.code !== line.line).map((l) => new Option(`${l.letter} · ${l.name}`, l.code)),
  );
  const ownFirst = [
    ...line.officers.map((o) => ({ username: o.username, name: o.name })),
    ...data.officers.filter((o) => !line.officers.some((x) => x.username === o.username)),
  ];
  form.elements.username.replaceChildren(...ownFirst.map((o) => new Option(`${o.name}（${o.username}）`, o.username)));
  $("action-submit").textContent = spec.submit;
  dialog.showModal();
  (spec.fields.length ? form.elements[spec.fields[0]] : $("action-submit")).focus();
}

$("action-cancel").addEventListener("click", () => dialog.close());

function showMoved(res, keepWait) {
  const target = lines.find((l) => res.to.number.startsWith(l.letter));
  lastMove = { from: res.from, to: res.to, until: Date.now() + UNDO_WINDOW_S * 1000 };
  $("moved-text").textContent = `${res.from.number} 已${keepWait ? "转至" : "分流至"}${target ? target.name : ""}，新排队号 ${res.to.number}`;
  $("moved").hidden = false;
  $("undo-move").hidden = false;
  clearInterval(undoTimer);
  const tick = () => {
    const left = Math.ceil((lastMove.until - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(undoTimer);
      $("undo-move").hidden = true;
      $("undo-countdown").textContent = "";
      render();
      return;
    }
    $("undo-countdown").textContent = `${left} 秒内可撤回`;
  };
  tick();
  undoTimer = setInterval(tick, 1000);
}

async function undoMove() {
  if (!lastMove) return;
  $("queue-error").textContent = "";
  try {
    const res = await api("POST", `/api/tickets/${lastMove.to.id}/undo-transfer`);
    clearInterval(undoTimer);
    $("moved-text").textContent = `已撤回：${res.to.number} 回到原队列`;
    $("undo-move").hidden = true;
    $("undo-countdown").textContent = "";
    lastMove = null;
    scheduleRefresh();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    $("queue-error").textContent = `撤回失败：${err.message}`;
  }
}
$("undo-move").addEventListener("click", undoMove);

$("action-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!pending) return;
  const { act, ticket } = pending;
  const f = ev.target.elements;
  $("action-error").textContent = "";
  clearInvalid(ev.target);
  try {
    if (act === "transfer" || act === "redirect") {
      const keepWait = act === "transfer";
      const res = await api("POST", `/api/tickets/${ticket.ticket_id}/transfer`, {
        line: f.line.value,
        reason: f.reason.value.trim(),
        keep_wait: keepWait,
      });
      showMoved(res, keepWait);
    } else if (act === "exclude") {
      await api("POST", `/api/tickets/${ticket.ticket_id}/exclusions`, {
        username: f.username.value,
        reason: f.reason.value.trim(),
      });
    } else if (act === "leave") {
      await api("POST", `/api/tickets/${ticket.ticket_id}/leave`);
    }
    dialog.close();
    pending = null;
    scheduleRefresh();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showFieldErrors(ev.target, $("action-error"), err);
  }
});

$("lines").addEventListener("click", (ev) => {
  const button = ev.target.closest("button[data-act]");
  if (!button) return;
  const found = findTicket(Number(button.closest("tr").dataset.ticket));
  if (!found) return;
  if (button.dataset.act === "undo") undoMove();
  else openDialog(button.dataset.act, found.line, found.ticket);
});

$("no-shows").addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-act=reactivate]");
  if (!button) return;
  $("queue-error").textContent = "";
  try {
    await api("POST", `/api/tickets/${button.closest("tr").dataset.ticket}/reactivate`);
    scheduleRefresh();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    $("queue-error").textContent = err.message;
  }
});

client.addEventListener("queue", scheduleRefresh);
client.addEventListener("close", () => {
  $("live-state").textContent = "连接中断，正在重连…";
  $("live-state").className = "live down";
});
client.addEventListener("open", () => {
  $("live-state").textContent = "实时";
  $("live-state").className = "live";
  scheduleRefresh(); // events may have been missed while the connection was down
});

async function main() {
  const [lineList, villages] = await Promise.all([api("GET", "/api/lines"), api("GET", "/api/villages")]);
  lines = lineList;
  const f = $("register-form").elements;
  f.line.replaceChildren(...lines.map((l) => new Option(`${l.letter} · ${l.name}`, l.code)));
  f.village_id.append(...villages.map((v) => new Option(`${v.name}（${v.township}）`, v.id)));
  showClassFields();
  await refresh();
  await client.connect();
  for (const line of lines) await client.subscribe(`line:${line.code}`);
  setInterval(render, 30000); // the waited minutes move on
  document.body.dataset.ready = "1";
}
main();
