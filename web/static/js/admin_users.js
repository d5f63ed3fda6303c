// 账号管理: list accounts with what each is bound to, create one with an initial password,
// reset a password, deactivate and reactivate.
import { api } from "./http.js";
import { attempt, button, cell, Status } from "./admin.js";

const status = new Status("user-message", "user-error");
const rows = document.getElementById("user-rows");
const me = Number(rows.dataset.me);
const form = document.getElementById("user-form");
const dialog = document.getElementById("password-dialog");
const passwordForm = document.getElementById("password-form");
const passwordStatus = new Status(null, "password-error");
let resetting = null;

function binding(u) {
  if (u.lines.length) return `条线：${u.lines.join("、")}`;
  if (u.terminal) return `终端：${u.terminal}（${u.village}）`;
  if (u.department) return `责任单位：${u.department}`;
  return "—";
}

function actions(u) {
  const td = cell("");
  td.className = "row-actions";
  td.append(button("重置密码", () => {
    resetting = u;
    document.getElementById("password-user").textContent = u.username;
    passwordForm.reset();
    passwordStatus.clear();
    dialog.showModal();
  }, "small secondary"));
  if (u.id === me) return td;
  const verb = u.active ? "deactivate" : "reactivate";
  const label = u.active ? "停用" : "启用";
  td.append(button(label, () => attempt(status, async () => {
    await api("POST", `/api/admin/users/${u.id}/${verb}`);
    await load();
    return `已${label}账号：${u.username}`;
  }), u.active ? "small danger" : "small"));
  return td;
}

async function load() {
  const { users } = await api("GET", "/api/admin/users");
  rows.replaceChildren(
    ...users.map((u) => {
      const tr = document.createElement("tr");
      tr.dataset.username = u.username;
      tr.append(cell(u.username), cell(u.display_name), cell(u.role_label), cell(binding(u)),
        cell(u.active ? "启用" : "已停用"), actions(u));
      return tr;
    }),
  );
}

// Show only the binding the chosen role needs (lines, a terminal or a department).
function showBindings() {
  const role = form.elements.role.value;
  for (const el of form.querySelectorAll("[data-for]")) {
    el.hidden = !el.dataset.for.split(" ").includes(role);
  }
}

form.elements.role.addEventListener("change", showBindings);
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const role = form.elements.role.value;
  const data = new FormData(form);
  const body = {
    username: data.get("username"),
    display_name: data.get("display_name"),
    role,
    password: data.get("password"),
    lines: ["officer", "leader"].includes(role) ? data.getAll("lines") : [],
    terminal: role === "terminal" ? data.get("terminal") || null : null,
    department: role === "department" ? data.get("department") || null : null,
  };
  const done = await attempt(status, async () => {
    await api("POST", "/api/admin/users", body);
    await load();
    return `已新建账号：${body.username}`;
  });
  if (done) {
    form.reset();
    showBindings();
  }
});

passwordForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const done = await attempt(passwordStatus, () =>
    api("POST", `/api/admin/users/${resetting.id}/password`, { password: passwordForm.elements.password.value }),
  );
  if (done) {
    dialog.close();
    status.ok(`已重置密码：${resetting.username}`);
  }
});
document.getElementById("password-cancel").addEventListener("click", () => dialog.close());

showBindings();
load().then(() => {
  document.body.dataset.ready = "1";
}, (err) => status.fail(err));
