// Case list (信访事项列表): filters by line, state, due date, overdue, due soon and owner, read
// from GET /api/cases; the filters are kept in the address so a filtered list can be bookmarked.
import { api } from "./http.js";

const form = document.getElementById("case-filter");
const rows = document.getElementById("case-rows");
const error = document.getElementById("filter-error");

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function render(cases) {
  if (cases.length === 0) {
    const tr = document.createElement("tr");
    const td = cell("没有符合条件的信访事项");
    td.colSpan = 6;
    tr.append(td);
    rows.replaceChildren(tr);
    return;
  }
  rows.replaceChildren(
    ...cases.map((c) => {
      const tr = document.createElement("tr");
      tr.dataset.case = c.id;
      const link = document.createElement("a");
      link.href = `/cases/${c.id}`;
      link.textContent = c.number;
      const first = document.createElement("td");
      first.append(link);
      const due = c.deadline?.error ? "无法计算（待补录日历）" : (c.deadline?.date ?? "—");
      const badge = document.createElement("td");
      if (c.overdue || c.due_soon) {
        const span = document.createElement("span");
        span.className = c.overdue ? "badge badge-urgent" : "badge badge-priority";
        span.textContent = c.overdue ? "已超期" : "即将到期";
        badge.append(span);
      }
      tr.append(
        first,
        cell(c.summary),
        cell(c.stage),
        cell(new Date(c.created_at).toLocaleString("zh-CN")),
        cell(due, c.deadline?.error ? "error" : ""),
        badge,
      );
      return tr;
    }),
  );
}

async function load() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) if (value) params.set(name, value);
  history.replaceState(null, "", params.size ? `?${params}` : location.pathname);
  error.hidden = true;
  try {
    render((await api("GET", `/api/cases?${params}`)).cases);
  } catch (err) {
    if (err.status === 403) return; // department accounts keep the server's list
    error.textContent = err.message;
    error.hidden = false;
  }
}

async function start() {
  const lines = await api("GET", "/api/lines");
  form.elements.line.append(
    ...lines.map((l) => {
      const option = document.createElement("option");
      option.value = l.code;
      option.textContent = l.name;
      return option;
    }),
  );
  const query = new URLSearchParams(location.search);
  for (const [name, value] of query) {
    const field = form.elements[name];
    if (!field) continue;
    if (field.type === "checkbox") field.checked = value === "true";
    else field.value = value;
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  form.dataset.ready = "true";
  await load();
}

if (form) start();
