// Public progress query: case number + query code → stage, unit, due date, public timeline.
// No session and no CSRF token: the request is a JSON POST that carries no cookies.
const form = document.getElementById("query-form");
const error = document.getElementById("query-error");
const result = document.getElementById("query-result");

function show(data) {
  document.getElementById("r-number").textContent = data.number;
  document.getElementById("r-stage").textContent = data.stage;
  document.getElementById("r-unit").textContent = data.unit;
  document.getElementById("r-due").textContent = data.due ? `${data.due.label}：${data.due.date}` : "无";
  // The legal channel (法定途径) of a matter not accepted or redirected; the ground is on the notice.
  document.getElementById("r-channel").textContent = data.legal_channel ?? "";
  for (const el of document.querySelectorAll(".r-channel")) el.hidden = !data.legal_channel;
  const list = document.getElementById("r-events");
  list.replaceChildren(
    ...data.events.map((e) => {
      const li = document.createElement("li");
      const time = document.createElement("time");
      time.textContent = e.date;
      li.append(time, ` ${e.label}`);
      return li;
    }),
  );
  result.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  result.hidden = true;
  const res = await fetch("/api/public/query", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({
      number: document.getElementById("q-number").value,
      query_code: document.getElementById("q-code").value,
    }),
    credentials: "omit",
  });
  const data = await res.json();
  if (res.ok) {
    show(data);
    loadEvaluation();
  } else {
    error.textContent = data?.error?.message ?? `查询失败（HTTP ${res.status}）`;
    error.hidden = false;
  }
});

// Satisfaction evaluation (满意度评价) of the answer, once per answer, within the window.
const evaluation = document.getElementById("evaluation");
const evaluationForm = document.getElementById("evaluation-form");

async function publicPost(path, extra) {
  const res = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({
      number: document.getElementById("q-number").value,
      query_code: document.getElementById("q-code").value,
      ...extra,
    }),
    credentials: "omit",
  });
  return { ok: res.ok, status: res.status, data: await res.json() };
}

function showEvaluation(status) {
  const text = {
    not_open: "事项答复后可以评价。",
    open: `请在 ${status.deadline} 前评价。`,
    evaluated: `您的评价：${status.grade_label}。感谢您的评价。`,
    expired: `评价期限已于 ${status.deadline} 届满。`,
  }[status.state];
  document.getElementById("e-state").textContent = text ?? status.state;
  evaluationForm.hidden = status.state !== "open";
  evaluation.hidden = false;
}

async function loadEvaluation() {
  evaluation.hidden = true;
  const { ok, data } = await publicPost("/api/public/evaluation/status", {});
  if (ok) showEvaluation(data);
}

evaluationForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const errorBox = document.getElementById("e-error");
  errorBox.hidden = true;
  const grade = evaluationForm.querySelector("input[name=grade]:checked")?.value;
  const { ok, status, data } = await publicPost("/api/public/evaluation", {
    grade,
    comment: document.getElementById("e-comment").value,
  });
  if (ok) {
    showEvaluation(data);
  } else {
    errorBox.textContent = data?.error?.message ?? `评价失败（HTTP ${status}）`;
    errorBox.hidden = false;
  }
});
