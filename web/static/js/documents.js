// Evidence documents (证据材料): upload one photo or PDF to a case, and list a case's documents.
// Shared by the case page and the village terminal.
import { api, ApiError } from "./http.js";

export const TYPE_NAMES = {
  "image/jpeg": "JPEG 图片",
  "image/png": "PNG 图片",
  "image/webp": "WebP 图片",
  "application/pdf": "PDF 文件",
};

export function sizeText(bytes) {
  if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MB`;
  return `${Math.max(0.1, bytes / 1024).toFixed(1)} KB`;
}

export function tooLarge(maxBytes) {
  return `文件过大：单个文件不能超过 ${Math.round((maxBytes / 1048576) * 10) / 10} MB`;
}

// What a person is told when an upload fails; a proxy's bare 413/415 has no JSON body.
export function uploadError(err) {
  if (!(err instanceof ApiError)) return "上传失败，请检查网络后重试";
  if (!err.code && err.status === 413) return "文件过大";
  if (!err.code && err.status === 415) return "文件类型不支持";
  const reasons = Object.values(err.fields).filter((why) => !err.message.includes(why));
  return [err.message, ...reasons].join("；");
}

// POST the file as multipart/form-data; a file over the limit is refused before it is sent
// (a village uplink is slow), the server checks again while it streams in.
export async function uploadDocument(caseId, { file, note = "", visibility = "staff", maxBytes = 0 }) {
  if (maxBytes && file.size > maxBytes) {
    throw new ApiError(413, { error: { code: "file_too_large", message: tooLarge(maxBytes) } });
  }
  const body = new FormData();
  body.append("visibility", visibility);
  body.append("note", note);
  body.append("file", file);
  return api("POST", `/api/cases/${caseId}/documents`, body);
}

export function listDocuments(caseId) {
  return api("GET", `/api/cases/${caseId}/documents`).then((data) => data.documents);
}

// One document as a list item: its name as the download link, then type, size and hash.
export function documentItem(doc) {
  const li = document.createElement("li");
  li.dataset.document = doc.id;
  const link = document.createElement("a");
  link.href = doc.url;
  link.download = doc.name;
  link.textContent = doc.name;
  const meta = document.createElement("span");
  meta.className = "hint";
  meta.textContent = ` · ${TYPE_NAMES[doc.media_type] ?? doc.media_type} · ${sizeText(doc.size_bytes)}`;
  li.append(link, meta);
  return li;
}
