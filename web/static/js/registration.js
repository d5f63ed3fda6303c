// Shared by the village terminal and the hall's desk: the collective-visit fields (集体访: head
// count and up to 5 representatives) and the repeat prompt (可能重复, 重信重访) shown when the
// server answers a registration with `repeat_candidates`.
import { api, ApiError } from "./http.js";

export const MAX_REPRESENTATIVES = 5;
const REP_FIELDS = [
  ["name", "代表姓名", 32],
  ["id_number", "身份证号", 18],
  ["phone", "联系电话", 20],
];

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "class") node.className = value;
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// The form has a checkbox `collective`, and a `.collective-fields` box with `.rep-rows` and a
// `.rep-add` button; rows are added up to the legal maximum.
export function setupCollective(form) {
  const box = form.querySelector(".collective-fields");
  const rows = box.querySelector(".rep-rows");
  const add = box.querySelector(".rep-add");
  const renumber = () => {
    [...rows.children].forEach((row, n) => {
      row.querySelector("legend").textContent = `代表 ${n + 1}`;
    });
    add.disabled = rows.children.length >= MAX_REPRESENTATIVES;
  };
  const addRow = () => {
    if (rows.children.length >= MAX_REPRESENTATIVES) return;
    const remove = el("button", { type: "button", class: "small secondary rep-remove" }, "删除");
    const row = el(
      "fieldset",
      { class: "rep-row" },
      el("legend"),
      ...REP_FIELDS.map(([name, label, max]) =>
        el("label", {}, `${label} `, el("input", { name: `rep_${name}`, maxLength: max, autocomplete: "off" })),
      ),
      remove,
    );
    remove.addEventListener("click", () => {
      row.remove();
      renumber();
    });
    rows.append(row);
    renumber();
  };
  add.addEventListener("click", addRow);
  form.elements.collective.addEventListener("change", () => {
    box.hidden = !form.elements.collective.checked;
    if (form.elements.collective.checked && rows.children.length === 0) addRow();
  });
  form.addEventListener("reset", () => {
    rows.replaceChildren();
    box.hidden = true;
    renumber();
  });
}

// The collective part of the registration body.
export function collectiveBody(form) {
  if (!form.elements.collective.checked) return { collective: false, representatives: [] };
  const representatives = [...form.querySelectorAll(".rep-row")].map((row) => {
    const value = (name) => row.querySelector(`[name=rep_${name}]`).value.trim();
    return { name: value("name"), id_number: value("id_number"), phone: value("phone") };
  });
  return { collective: true, representatives };
}

// Mark the inputs an error names (`representatives.1.id_number` is row 2's identity number).
export function markInvalid(form, fields, rename = {}) {
  for (const field of Object.keys(fields)) {
    const rep = field.match(/^representatives\.(\d+)\.(\w+)$/);
    if (rep) {
      form.querySelectorAll(".rep-row")[Number(rep[1])]
        ?.querySelector(`[name=rep_${rep[2]}]`)
        ?.setAttribute("aria-invalid", "true");
    } else {
      form.elements[rename[field] ?? field]?.setAttribute?.("aria-invalid", "true");
    }
  }
}

function percent(value) {
  return `${Math.round(value * 100)}%`;
}

// Show the candidates in `section`; resolves with the registrar's decision, or null to go back.
function askRepeat(section, candidates) {
  return new Promise((resolve) => {
    const done = (decision) => {
      section.hidden = true;
      section.replaceChildren();
      resolve(decision);
    };
    const rows = candidates.map((c) => {
      // An ended case (已办结、已终结、已撤回…) takes no new visit: only 确认新事项.
      let link = el("span", { class: "hint repeat-ended" }, "已结束，不能并入");
      if (c.linkable) {
        link = el("button", { type: "button", class: "small repeat-link", dataset: { case: c.case_id } }, "并入已有事项");
        link.addEventListener("click", () => done({ link: c.case_id }));
      }
      return el(
        "tr",
        { dataset: { case: c.case_id } },
        el("td", { class: "num" }, c.number),
        el("td", {}, c.line_name),
        el("td", {}, c.state_label),
        el("td", {}, c.registered_on),
        el("td", { class: "similarity" }, percent(c.similarity)),
        el("td", { class: "snippet" }, c.summary),
        el("td", {}, link),
      );
    });
    const confirmNew = el("button", { type: "button", class: "secondary", id: "repeat-new" }, "确认新事项");
    confirmNew.addEventListener("click", () => done({ new: true, seen: candidates.map((c) => c.case_id) }));
    const back = el("button", { type: "button", class: "secondary", id: "repeat-back" }, "返回修改");
    back.addEventListener("click", () => done(null));
    section.replaceChildren(
      el("h2", {}, "可能重复"),
      el("p", {}, "该信访人（或代表）近期在本条线有相似事项（重信重访）。请核对后选择并入已有事项，或确认为新事项。"),
      el(
        "table",
        { class: "list compact" },
        el(
          "thead",
          {},
          el("tr", {}, ...["事项编号", "条线", "状态", "登记日期", "相似度", "事项摘要", ""].map((h) => el("th", {}, h))),
        ),
        el("tbody", {}, ...rows),
      ),
      el("p", { class: "actions" }, confirmNew, back),
    );
    section.hidden = false;
    section.scrollIntoView({ block: "nearest" });
  });
}

// POST the registration; on `repeat_candidates` ask the registrar and send it again with the
// decision. Resolves with the server's answer, or null when the registrar went back to edit.
export async function submitRegistration(body, promptSection) {
  try {
    return await api("POST", "/api/visit-requests", body);
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== "repeat_candidates") throw err;
    const decision = await askRepeat(promptSection, err.details.candidates ?? []);
    if (decision === null) return null;
    return submitRegistration({ ...body, repeat_decision: decision }, promptSection);
  }
}
