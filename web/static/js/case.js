// Case page: reveal the petitioner's full identity number and phone on request (audited).
import { api } from "./http.js";
import { uploadDocument, uploadError } from "./documents.js";

const button = document.getElementById("unmask");
button?.addEventListener("click", async () => {
  const id = document.getElementById("petitioner").dataset.id;
  const person = await api("GET", `/api/petitioners/${id}`);
  document.getElementById("pid").textContent = person.id_number;
  document.getElementById("pphone").textContent = person.phone;
  button.hidden = true;
});

// Parties (当事人): each person's full identity number and phone on request (audited).
for (const button of document.querySelectorAll(".party-unmask")) {
  button.addEventListener("click", async () => {
    const row = button.closest("tr");
    const person = await api("GET", `/api/petitioners/${row.dataset.petitioner}`);
    row.querySelector(".party-id").textContent = person.id_number;
    row.querySelector(".party-phone").textContent = person.phone;
    button.hidden = true;
  });
}

// Merge and split (合并 / 拆分) with their undo; the page reloads to show both files.
const links = document.getElementById("links");
if (links) {
  const base = `/api/cases/${links.dataset.case}`;
  const send = async (form, path, body) => {
    const error = document.getElementById("links-error");
    error.hidden = true;
    try {
      const res = await api("POST", path, body);
      location.assign(path.endsWith("/split") ? `/cases/${res.id}` : location.pathname);
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  };
  const on = (id, build) =>
    document.getElementById(id)?.addEventListener("submit", (event) => {
      event.preventDefault();
      const f = event.target.elements;
      const [path, body] = build(f);
      send(event.target, path, body);
    });
  // A supervisor's reason to let a 检举控告 reach its accused unit (the field is theirs only).
  const override = (f, body) =>
    f.accused_override?.value.trim() ? { ...body, accused_override: f.accused_override.value } : body;
  on("merge-form", (f) => [`${base}/merge`, override(f, { into: f.into.value.trim(), reason: f.reason.value })]);
  on("undo-merge-form", (f) => [`${base}/undo-merge`, override(f, { reason: f.reason.value })]);
  on("undo-split-form", (f) => [`${base}/undo-split`, override(f, { reason: f.reason.value })]);
  on("split-form", (f) => {
    const [kind, id] = f.item.value.split(":");
    return [`${base}/split`, { [`${kind}_id`]: Number(id), summary: f.summary.value, reason: f.reason.value }];
  });
}

// State transitions (办理状态): the allowed next states for this account, with a reason.
const panel = document.getElementById("transitions");
const value = (id) => document.getElementById(id).value;

function render(state) {
  document.getElementById("t-stage").textContent = `${state.stage}（${state.state}）`;
  const select = document.getElementById("t-to");
  select.replaceChildren(
    // Merging names the other case: the 合并与拆分 panel does it.
    ...state.allowed.filter((a) => a.to !== "merged").map((a) => {
      const option = document.createElement("option");
      option.value = a.to;
      option.textContent = a.label;
      return option;
    }),
  );
  document.getElementById("transition-form").hidden = state.allowed.length === 0;
  toggleFields();
  panel.hidden = false;
}

// Not accepted / redirected name the legal channel (法定途径); 检举控告 names the accused unit.
const CHANNEL_STEPS = ["not_accepted", "redirected"];

function toggleFields() {
  const channelStep = CHANNEL_STEPS.includes(value("t-to"));
  document.getElementById("t-channel-fields").hidden = !channelStep;
  document.getElementById("t-ground-hint").hidden = !channelStep;
  document.getElementById("t-channel-note-label").hidden = !(channelStep && value("t-channel") === "other");
  document.getElementById("t-accused").hidden = value("t-classification") !== "accusation";
}

if (panel) {
  const path = `/api/cases/${panel.dataset.case}/transitions`;
  for (const id of ["t-to", "t-channel", "t-classification"]) {
    document.getElementById(id).addEventListener("change", toggleFields);
  }
  api("GET", path).then(render, () => {}); // 403: this account does not change states
  document.getElementById("transition-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("t-error");
    error.hidden = true;
    const body = { to: value("t-to"), reason: value("t-reason") };
    if (value("t-classification")) body.classification = value("t-classification");
    if (value("t-claim-type")) body.claim_type = Number(value("t-claim-type"));
    if (value("t-outcome")) body.outcome = value("t-outcome");
    if (value("t-days")) body.extension_days = Number(value("t-days"));
    if (value("t-department")) body.department = value("t-department");
    if (CHANNEL_STEPS.includes(body.to)) {
      body.legal_channel = value("t-channel");
      if (body.legal_channel === "other") body.legal_channel_note = value("t-channel-note");
    }
    if (body.classification === "accusation") {
      // Picked from the register (or typed as one of its names): the department's code.
      const typed = value("t-accused-name").trim();
      const picked = value("t-accused-department") || registerCodes.get(typed);
      if (picked) body.accused_department = picked;
      else if (typed) body.accused_name = typed;
    }
    const overrideReason = document.getElementById("t-override")?.value.trim();
    if (overrideReason) body.accused_override = overrideReason;
    try {
      await api("POST", path, body);
      location.reload();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
}

// Deadlines (办理期限) with their rules and flags, the notices (告知书) and their deliveries.
const deadlines = document.getElementById("deadlines");

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function row(...texts) {
  const tr = document.createElement("tr");
  tr.append(...texts.map(cell));
  return tr;
}

function renderDeadlines(info) {
  const badge = document.getElementById("due-badge");
  badge.hidden = !(info.overdue || info.due_soon);
  badge.textContent = info.overdue ? "已超期" : "即将到期";
  badge.className = info.overdue ? "badge badge-urgent" : "badge badge-priority";
  const error = document.getElementById("due-error");
  error.hidden = !info.deadline?.error;
  error.textContent = info.deadline?.error ? `期限无法计算，请管理员补录官方日历：${info.deadline.error}` : "";
  document.getElementById("deadline-rows").replaceChildren(
    ...info.deadlines.map((d) =>
      row(d.label, d.date ?? "无法计算", d.error ?? (d.recomputed ? `${d.text}（补录日历后重新计算）` : d.text)),
    ),
  );
  if (info.deadlines.length === 0) {
    document.getElementById("deadline-rows").replaceChildren(row("暂无", "", ""));
  }
  document.getElementById("notice-list").replaceChildren(
    ...info.notices.map((n) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = n.url;
      a.textContent = n.title;
      a.dataset.kind = n.kind;
      li.append(a);
      return li;
    }),
  );
  const kind = document.getElementById("d-kind");
  kind.replaceChildren(
    ...info.notices.map((n) => {
      const option = document.createElement("option");
      option.value = n.kind;
      option.textContent = n.title;
      return option;
    }),
  );
  document.getElementById("delivery-form").hidden = info.notices.length === 0;
  document.getElementById("delivery-rows").replaceChildren(
    ...info.deliveries.map((d) =>
      row(d.title, new Date(d.delivered_at).toLocaleString("zh-CN"), d.method, d.by),
    ),
  );
}

if (deadlines) {
  const path = `/api/cases/${deadlines.dataset.case}/deadlines`;
  const load = () =>
    api("GET", path).then(renderDeadlines, () => {
      deadlines.hidden = true; // 403: this account does not read deadlines and notices
    });
  load();
  document.getElementById("delivery-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("d-error");
    error.hidden = true;
    const body = { method: value("d-method") };
    if (value("d-at")) body.delivered_at = new Date(value("d-at")).toISOString();
    try {
      await api("POST", `/api/cases/${deadlines.dataset.case}/notices/${value("d-kind")}/deliveries`, body);
      await load();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
}

// Responsible departments (责任单位): the department signs for the case (签收), objects within
// its period or replies (答复); supervisors open a 督办, a leader owns the case (包案).
const departmentPanel = document.getElementById("department");
const OVERLAYS = { supervised: "督办中", leader_owned: "领导包案" };
const EVALUATION = { not_open: "尚未答复", open: "可评价", evaluated: "已评价", expired: "评价期限已届满" };

function showDepartment(info) {
  const role = departmentPanel.dataset.role;
  const text = (id, t) => {
    document.getElementById(id).textContent = t;
  };
  text("dp-unit", info.department ? info.department.name : "—");
  text("dp-ack", info.acknowledged ? "已签收" : info.department ? "未签收" : "—");
  text("dp-object-due", info.object_due ?? "—");
  text("dp-supervision", info.supervision ? `反馈期限 ${info.supervision.feedback_due}：${info.supervision.reason}` : "—");
  text("dp-overlays", info.overlays.map((o) => OVERLAYS[o] ?? o).join("、") || "—");
  const graded = info.evaluation.grade_label
    ? `：${info.evaluation.grade_label}（${info.evaluation.channel_label ?? ""}）`
    : "";
  text("dp-evaluation", (EVALUATION[info.evaluation.state] ?? info.evaluation.state) + graded);
  const routed = ["transferred", "assigned"].includes(info.state);
  document.getElementById("dp-actions").hidden = !info.handles;
  document.getElementById("dp-acknowledge").hidden = !(routed && !info.acknowledged);
  document.getElementById("dp-object-form").hidden = !(routed && info.may_object);
  const replies = (routed && info.acknowledged) || ["accepted", "in_progress"].includes(info.state);
  document.getElementById("dp-reply-form").hidden = !replies;
  document.getElementById("dp-feedback-form").hidden = !info.supervision;
  const supervises = ["supervisor", "admin"].includes(role) && info.department && !info.supervision;
  document.getElementById("dp-supervise-form").hidden = !supervises;
  document.getElementById("dp-own").hidden = !(role === "leader" && !info.overlays.includes("leader_owned"));
  departmentPanel.hidden = false;
}

if (departmentPanel) {
  const caseId = departmentPanel.dataset.case;
  let supervisionId = null;
  const act = async (path, body) => {
    const error = document.getElementById("dp-error");
    error.hidden = true;
    try {
      await api("POST", path, body);
      location.reload();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  };
  const on = (id, kind, handler) =>
    document.getElementById(id).addEventListener(kind, (event) => {
      event.preventDefault();
      handler();
    });
  on("dp-acknowledge", "click", () => act(`/api/cases/${caseId}/acknowledgement`));
  on("dp-object-form", "submit", () => act(`/api/cases/${caseId}/objection`, { ground: value("dp-ground") }));
  on("dp-reply-form", "submit", () =>
    act(`/api/cases/${caseId}/reply`, { outcome: value("dp-outcome"), text: value("dp-text") }),
  );
  on("dp-feedback-form", "submit", () =>
    act(`/api/supervisions/${supervisionId}/feedback`, { feedback: value("dp-feedback") }),
  );
  on("dp-supervise-form", "submit", () =>
    act(`/api/cases/${caseId}/supervisions`, { reason: value("dp-reason"), feedback_due: value("dp-due") }),
  );
  on("dp-own", "click", () => act(`/api/cases/${caseId}/ownership`));
  api("GET", `/api/cases/${caseId}/department`).then((info) => {
    supervisionId = info.supervision?.id ?? null;
    showDepartment(info);
  }, () => {});
}

// The department register: the choices of a transfer or assignment (转送、交办), and of an
// accused unit, named with its aliases (简称); a typed name or alias maps to the department.
const registerCodes = new Map();
const departmentSelects = ["t-department", "t-accused-department"]
  .map((id) => document.getElementById(id))
  .filter(Boolean);
if (departmentSelects.length) {
  api("GET", "/api/departments").then((data) => {
    for (const select of departmentSelects) {
      select.append(
        ...data.departments.map((d) => {
          const option = document.createElement("option");
          option.value = d.code;
          option.textContent = d.aliases.length ? `${d.name}（${d.aliases.join("、")}）` : d.name;
          return option;
        }),
      );
    }
    const units = document.getElementById("t-accused-units");
    for (const d of data.departments) {
      for (const name of [d.name, ...d.aliases]) {
        registerCodes.set(name, d.code);
        const option = document.createElement("option");
        option.value = name;
        if (name !== d.name) option.label = d.name;
        units?.append(option);
      }
    }
  }, () => {}); // 403: this account does not route cases
}

// Evidence documents (证据材料): upload a photo or PDF; the page then shows it in the list and
// in the timeline.
const documentForm = document.getElementById("document-form");
if (documentForm) {
  const panel = document.getElementById("documents");
  documentForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("document-error");
    const submit = document.getElementById("document-submit");
    const f = documentForm.elements;
    error.hidden = true;
    submit.disabled = true;
    submit.textContent = "正在上传…";
    try {
      await uploadDocument(panel.dataset.case, {
        file: f.file.files[0],
        note: f.note.value,
        visibility: f.petitioner.checked ? "petitioner" : "staff",
        maxBytes: Number(panel.dataset.maxBytes),
      });
      location.reload();
    } catch (err) {
      error.textContent = uploadError(err);
      error.hidden = false;
      submit.disabled = false;
      submit.textContent = "上传材料";
    }
  });
}
