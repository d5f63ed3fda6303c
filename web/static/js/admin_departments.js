// 责任单位管理: list, create, rename (with the aliases, 简称/别名), deactivate and reactivate.
import { api } from "./http.js";
import { attempt, button, cell, Status } from "./admin.js";

const status = new Status("dept-message", "dept-error");
const dialog = document.getElementById("rename-dialog");
const renameForm = document.getElementById("rename-form");
const renameStatus = new Status(null, "rename-error");
let renaming = null;

// The aliases field: names separated by 、，, ; or spaces (an empty field clears them).
const aliasList = (text) => text.split(/[、，,;；\s]+/).filter(Boolean);

function body(form) {
  const data = Object.fromEntries(new FormData(form));
  return { ...data, aliases: aliasList(data.aliases ?? "") };
}

function actions(d) {
  const td = cell("");
  td.className = "row-actions";
  td.append(button("更名/简称", () => {
    renaming = d;
    renameForm.elements.name.value = d.name;
    renameForm.elements.aliases.value = d.aliases.join("、");
    renameForm.elements.region.value = d.region;
    renameStatus.clear();
    dialog.showModal();
  }, "small secondary"));
  const verb = d.active ? "deactivate" : "reactivate";
  const label = d.active ? "停用" : "启用";
  td.append(button(label, () => attempt(status, async () => {
    await api("POST", `/api/admin/departments/${d.id}/${verb}`);
    await load();
    return `已${label}：${d.name}`;
  }), d.active ? "small danger" : "small"));
  return td;
}

async function load() {
  const { departments } = await api("GET", "/api/admin/departments");
  document.getElementById("dept-rows").replaceChildren(
    ...departments.map((d) => {
      const tr = document.createElement("tr");
      tr.dataset.code = d.code;
      tr.append(cell(d.code), cell(d.name), cell(d.aliases.join("、")), cell(d.region),
        cell(d.accounts), cell(d.open_cases),
        cell(d.active ? "启用" : "已停用"), actions(d));
      return tr;
    }),
  );
}

const form = document.getElementById("dept-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const made = body(form);
  const done = await attempt(status, async () => {
    await api("POST", "/api/admin/departments", made);
    await load();
    return `已新建责任单位：${made.name}`;
  });
  if (done) form.reset();
});

renameForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const changed = body(renameForm);
  const done = await attempt(renameStatus, async () => {
    await api("PUT", `/api/admin/departments/${renaming.id}`, changed);
    await load();
  });
  if (done) {
    dialog.close();
    status.ok(`已保存：${changed.name}`);
  }
});
document.getElementById("rename-cancel").addEventListener("click", () => dialog.close());

load().then(() => {
  document.body.dataset.ready = "1";
}, (err) => status.fail(err));
