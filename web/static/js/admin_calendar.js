// 节假日调整表: each year's coverage, the overrides of one year, entering one day or a whole
// year's notice, marking a year complete (标记完整), removing a day, and recomputing deadlines
// the calendar could not compute.
import { api } from "./http.js";
import { attempt, button, cell, emptyRow, Status } from "./admin.js";

const root = document.getElementById("calendar");
const status = new Status("calendar-message", "calendar-error");
const KIND = { holiday: "放假", workday: "上班" };
let year = Number(root.dataset.year);

function recomputedText(r) {
  const fixed = r.fixed ? `已重新计算 ${r.cases.length} 件信访事项的 ${r.fixed} 个期限` : "没有需要重新计算的期限";
  return r.remaining ? `${fixed}；仍有 ${r.remaining} 个期限无法计算` : fixed;
}

function renderYears(years) {
  document.getElementById("year-rows").replaceChildren(
    ...years.map((y) => {
      const tr = document.createElement("tr");
      tr.dataset.year = y.year;
      tr.dataset.coverage = y.coverage;
      const label = cell(y.coverage_label);
      if (y.coverage === "missing" || y.coverage === "incomplete") label.className = "error";
      tr.append(cell(y.year), label, cell(y.holidays), cell(y.workdays));
      const pick = cell("");
      pick.append(button("查看", () => show(y.year), "small secondary"));
      if (y.coverage === "incomplete") pick.append(" ", button("标记完整", () => markComplete(y.year), "small"));
      tr.append(pick);
      return tr;
    }),
  );
}

function renderOverrides(data) {
  document.getElementById("year-title").textContent = data.year;
  const badge = document.getElementById("year-coverage");
  const coverage = data.years.find((y) => y.year === data.year)?.coverage_label;
  badge.textContent = data.package_covers ? "日历组件已包含" : coverage ?? "未覆盖";
  const rows = document.getElementById("override-rows");
  if (data.overrides.length === 0) {
    rows.replaceChildren(emptyRow(4, "暂无调整记录"));
    return;
  }
  rows.replaceChildren(
    ...data.overrides.map((o) => {
      const tr = document.createElement("tr");
      tr.dataset.day = o.day;
      const actions = cell("");
      actions.append(
        button("删除", () => attempt(status, async () => {
          await api("DELETE", `/api/admin/calendar/overrides/${o.day}`);
          await show(year);
          return `已删除 ${o.day}`;
        }), "small danger"),
      );
      tr.append(cell(o.day), cell(KIND[o.kind]), cell(o.name), actions);
      return tr;
    }),
  );
}

async function show(which) {
  year = which;
  const data = await api("GET", `/api/admin/calendar?year=${which}`);
  renderYears(data.years);
  renderOverrides(data);
  return data;
}

function markComplete(which) {
  const question = `确认${which}年的放假日和调休上班日已按通知全部录入？\n` +
    "标记后未录入的日期按周一至周五上班计算，据此算出的期限不再变动。";
  if (!window.confirm(question)) return;
  attempt(status, async () => {
    const result = await api("POST", `/api/admin/calendar/years/${which}/complete`);
    await show(which);
    return `已标记${which}年完整录入。${recomputedText(result.recomputed)}`;
  });
}

function onSubmit(form, path, body) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const done = await attempt(status, async () => {
      const result = await api("POST", path, body());
      const first = Number(result.added[0].day.slice(0, 4));
      const data = await show(first);
      const entered = data.years.find((y) => y.year === first);
      const todo = entered?.coverage === "incomplete" ? `；${first}年尚未标记完整，该年期限暂不计算` : "";
      return `已录入 ${result.added.length} 天。${recomputedText(result.recomputed)}${todo}`;
    });
    if (done) form.reset();
  });
}

const one = document.getElementById("override-form");
onSubmit(one, "/api/admin/calendar/overrides", () => ({
  day: one.elements.day.value,
  kind: one.elements.kind.value,
  name: one.elements.name.value,
  allow_covered: one.elements.allow_covered.checked,
}));
const bulk = document.getElementById("bulk-form");
onSubmit(bulk, "/api/admin/calendar/bulk", () => ({
  text: bulk.elements.text.value,
  allow_covered: bulk.elements.allow_covered.checked,
  complete: bulk.elements.complete.checked,
}));
document.getElementById("recompute").addEventListener("click", () =>
  attempt(status, async () => recomputedText((await api("POST", "/api/admin/calendar/recompute")).recomputed)),
);

show(year).then(() => {
  document.body.dataset.ready = "1";
}, (err) => status.fail(err));
