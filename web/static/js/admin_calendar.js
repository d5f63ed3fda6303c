// 节假日调整表: each year's coverage, the overrides of one year, entering one day or a whole
// year's notice, removing a day, and recomputing deadlines the calendar could not compute.
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
      if (y.coverage === "missing") label.className = "error";
      tr.append(cell(y.year), label, cell(y.holidays), cell(y.workdays));
      const pick = cell("");
      pick.append(button("查看", () => show(y.year), "small secondary"));
      tr.append(pick);
      return tr;
    }),
  );
}

function renderOverrides(data) {
  document.getElementById("year-title").textContent = data.year;
  const badge = document.getElementById("year-coverage");
  badge.textContent = data.package_covers ? "日历组件已包含" : data.overrides.length ? "以调整表为准" : "未覆盖";
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
}

function onSubmit(form, path, body) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const done = await attempt(status, async () => {
      const result = await api("POST", path, body());
      const first = result.added[0].day;
      await show(Number(first.slice(0, 4)));
      return `已录入 ${result.added.length} 天。${recomputedText(result.recomputed)}`;
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
}));
document.getElementById("recompute").addEventListener("click", () =>
  attempt(status, async () => recomputedText((await api("POST", "/api/admin/calendar/recompute")).recomputed)),
);

show(year).then(() => {
  document.body.dataset.ready = "1";
}, (err) => status.fail(err));
