"use strict";
// The search page: posts the form to /v1/reason with Accept: text/event-stream and draws each event as it arrives.
// Everything the server or the user wrote is put into the page as text, never as HTML.

const $ = id => document.getElementById(id);
const form = $("ask"), runButton = $("run"), cancelButton = $("cancel"), stagesBox = $("stages");
const imageInput = $("image"), preview = $("preview"), drop = $("drop"), clearImage = $("clear-image");
const modeSelect = $("mode"), scorerSelect = $("scorer");
let image = null;        // the File to send, from the picker or a drop
let controller = null;   // aborts the running request
const stages = new Map(); // stage index -> { stage, box, cards: [], judges, votes, rounds }
let lastRound = null;    // the latest swires_round event: its ranking says which reasonings the conclusions continue

// Which scorers each mode takes, its default first, as the server's Scorers.For says (the server checks them too).
const MODES = {
  stage_beam: { scorers: ["pairwise", "verifier"], hint: "The pairwise judge by default; the verifier scores each candidate on its own instead." },
  best_of_n: { scorers: ["pairwise", "verifier"], hint: "N whole answers; the pairwise judge by default, or the verifier." },
  sentence_beam: { scorers: ["pairwise"], hint: "Sentence by sentence; it takes the pairwise judge only." },
  swires: { scorers: ["verifier"], hint: "Scored by the verifier. Its shape is fixed (4 captions, the best 2 kept, 2 reasonings each, " +
    "3 conclusions), so beam size does not apply; it backtracks while the second-best reasoning scores at or below the cutoff." },
  self_consistency: { scorers: ["verifier", "pairwise"], hint: "N whole answers and a majority vote; the scorer (the verifier by default) only breaks a tie." },
  weighted_best_of_n: { scorers: ["verifier"], hint: "N whole answers; each answer's votes weigh its candidates' P(correct) from the verifier." },
  two_stage: { scorers: [], hint: "A rationale, then an answer: nothing to choose among, so no scorer." },
  single: { scorers: [], hint: "One answer: nothing to choose among, so no scorer." },
};

function percent(p) { return `${(p * 100).toFixed(1)}%`; }

function candidateName(index, candidate) { return `stage ${index + 1}, candidate ${candidate + 1}`; }

function setStatus(text) { $("status").textContent = text; }

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

function element(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---- the image: picker, drag and drop, preview ----

function useImage(file) {
  image = file || null;
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.hidden = !image;
  clearImage.hidden = !image;
  if (image) {
    preview.src = URL.createObjectURL(image);
    preview.alt = "Preview of " + image.name;
  } else {
    preview.removeAttribute("src");
    imageInput.value = "";
  }
}

imageInput.addEventListener("change", () => useImage(imageInput.files[0]));
clearImage.addEventListener("click", () => { useImage(null); imageInput.focus(); });
drop.addEventListener("dragover", e => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", e => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files.length) useImage(e.dataTransfer.files[0]);
});

// ---- the mode and the scorers it takes ----

function updateModeControls() {
  const mode = MODES[modeSelect.value] || { scorers: [], hint: "" };
  for (const option of scorerSelect.options) option.disabled = option.value !== "" && !mode.scorers.includes(option.value);
  if (scorerSelect.selectedOptions[0]?.disabled) scorerSelect.value = "";
  scorerSelect.options[0].textContent = mode.scorers.length ? `mode default (${mode.scorers[0]})` : "none";
  // With one scorer or none there is nothing to pick.
  scorerSelect.disabled = mode.scorers.length < 2;
  $("mode-hint").textContent = mode.hint;
  $("swires_cutoff").disabled = modeSelect.value !== "swires";
}

modeSelect.addEventListener("change", updateModeControls);
updateModeControls();

// ---- errors in plain words ----

async function describeFailure(response) {
  let problem = {};
  try { problem = await response.json(); } catch { /* not JSON: the status alone speaks */ }
  const detail = problem.detail || problem.title || response.statusText;
  const fields = problem.errors ? Object.entries(problem.errors).map(([f, m]) => `${f}: ${[].concat(m).join("; ")}`).join(". ") : "";
  switch (response.status) {
    case 400: return `The request was not accepted. ${fields || detail}`;
    case 413: return `The upload is too large for this server. ${detail}`;
    case 415: return `The server cannot read that kind of upload. ${detail}`;
    case 422: return `The image could not be used. ${detail}`;
    case 429: {
      const wait = response.headers.get("Retry-After");
      return `The server is busy with other questions. Try again${wait ? ` in ${wait} seconds` : " shortly"}.`;
    }
    case 503: return `The model is still loading. ${detail}`;
    default: return `The server answered ${response.status}: ${detail}` + (problem.request_id ? ` (request ${problem.request_id})` : "");
  }
}

// ---- the event stream ----

async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { name, data: JSON.parse(data.join("\n")) };
    }
  }
}

function stageTitle(stage) { return stage.charAt(0).toUpperCase() + stage.slice(1); }

function onStageStarted(e) {
  for (const s of stages.values()) s.box.classList.remove("running");
  const box = $("stage-template").content.firstElementChild.cloneNode(true);
  box.classList.add("running");
  box.dataset.stage = e.stage;
  box.querySelector(".stage-title").textContent = `${e.index + 1}. ${stageTitle(e.stage)}: ${e.candidates} candidate${e.candidates > 1 ? "s" : ""}`;
  const cards = [];
  for (let i = 0; i < e.candidates; i++) {
    const card = element("article", "candidate");
    const head = element("h3");
    head.append(element("span", "", `Candidate ${i + 1}`), element("span", "tokens", "writing…"));
    const text = element("pre");
    card.append(head, text);
    box.querySelector(".candidates").append(card);
    cards.push({ card, text, tokens: head.querySelector(".tokens"), note: null });
  }
  stagesBox.append(box);
  stages.set(e.index, { stage: e.stage, box, cards, judges: box.querySelector(".judges"), votes: box.querySelector(".votes"),
    rounds: box.querySelector(".rounds") });
  if (e.stage === "conclusion" && lastRound) continueBestReasonings(cards);
  setStatus(`${stageTitle(e.stage)}: sampling ${e.candidates} candidate${e.candidates > 1 ? "s" : ""}…`);
}

// SWIRES: conclusion i continues the i-th best reasoning of the last round; those are kept, the other reasonings not.
function continueBestReasonings(conclusionCards) {
  const best = lastRound.ranking.slice(0, conclusionCards.length);
  for (const [index, s] of stages) {
    if (s.stage !== "reasoning") continue;
    s.cards.forEach((c, i) => c.card.classList.add(best.some(r => r.index === index && r.candidate === i) ? "kept" : "loser"));
  }
  conclusionCards.forEach((c, i) => c.card.insertBefore(
    element("p", "origin", `Continues the reasoning of ${candidateName(best[i].index, best[i].candidate)} (P(correct) ${percent(best[i].score)})`), c.text));
}

// A line under a candidate's heading: its verifier score, or what it is the same as.
function setNote(c, text, className = "") {
  if (!c.note) {
    c.note = element("p");
    c.card.insertBefore(c.note, c.text);
  }
  c.note.className = "note " + className;
  c.note.textContent = text;
}

function onToken(e) {
  const c = stages.get(e.index)?.cards[e.candidate];
  if (c) c.text.textContent += e.text;
}

function onCandidateDone(e) {
  const c = stages.get(e.index)?.cards[e.candidate];
  if (!c) return;
  c.text.textContent = e.text;
  c.tokens.textContent = `${e.tokens} tokens`;
}

function onJudge(e) {
  const s = stages.get(e.index);
  if (!s) return;
  setStatus(`${stageTitle(e.stage)}: judging…`);
  const item = element("li");
  const winner = e.winner === e.first ? e.first : e.second;
  const how = { judge: "the judge chose", missing_tags: "decided without the judge: a candidate lacks its stage tags",
    incorrect_reasoning: "the pre-check found reasoning incorrect",
    identical: "both wrote the same tokens: no judge call" }[e.decision] || e.decision;
  if (e.decision === "identical") {
    const [low, high] = e.first < e.second ? [e.first, e.second] : [e.second, e.first];
    if (s.cards[high]) setNote(s.cards[high], `Identical to candidate ${low + 1}`, "identical");
  }
  // The judge's prompt shows the pair as response 1 and response 2: name both, so its words can be read.
  item.append(element("span", "pair",
    `Candidate ${e.first + 1} (response 1) vs candidate ${e.second + 1} (response 2): candidate ${winner + 1} wins (${how})`));
  for (const call of e.calls) {
    const reply = call.reply.trim();
    if (!call.with_image) {
      const verdict = /\bincorrect\b/.test(reply) ? "incorrect" : /\bcorrect\b/.test(reply) ? "correct" : reply;
      item.append(element("span", "precheck" + (verdict === "incorrect" ? " incorrect" : ""),
        `Pre-check: ${verdict}${call.used === false ? " (not needed)" : ""}`));
    } else {
      item.append(element("span", "words", `“${reply}”${call.used === false ? " (not needed)" : ""}`));
    }
  }
  s.judges.append(item);
}

function onScore(e) {
  const c = stages.get(e.index)?.cards[e.candidate];
  if (!c) return;
  setStatus(`${stageTitle(e.stage)}: scoring…`);
  if (e.decision === "identical") setNote(c, `Identical to candidate ${e.identical_to + 1}: P(correct) ${percent(e.score)}`, "identical");
  else if (e.decision === "missing_tags") setNote(c, "Not scored: it lacks its stage tags (P(correct) 0%)", "unscored");
  else setNote(c, `Verifier: P(correct) ${percent(e.score)}`, "score");
  c.card.dataset.score = e.score;
}

function onVote(e) {
  const s = stages.get(e.index);
  if (!s) return;
  const weighted = e.decision === "weighted";
  const how = { majority: "the answer given most often wins", tie: "a tie, broken by the scorer",
    weighted: "each answer weighs its candidates' P(correct)" }[e.decision] || e.decision;
  const panel = element("section", "vote");
  panel.append(element("h3", "", `Vote: ${how}`));
  const list = element("ul");
  list.setAttribute("aria-label", "Each distinct answer");
  for (const t of e.answers) {
    const won = t.candidates.includes(e.winner);
    const item = element("li", won ? "chosen" : "");
    const weight = weighted ? `weight ${t.weight.toFixed(3)}` : `${t.weight} vote${t.weight === 1 ? "" : "s"}`;
    item.append(element("span", "vote-answer", `“${t.answer}”`),
      element("span", "", `${weight}, from candidate${t.candidates.length > 1 ? "s" : ""} ${t.candidates.map(i => i + 1).join(", ")}`));
    if (won) item.append(element("span", "badge", `winner: candidate ${e.winner + 1}`));
    list.append(item);
  }
  panel.append(list);
  s.votes.append(panel);
}

function onSwiresRound(e) {
  const s = stages.get(e.index);
  if (!s) return;
  lastRound = e;
  s.box.classList.remove("running");
  const low = e.second_best <= e.cutoff;
  const next = e.backtrack ? "backtrack: new captions" : low ? "no backtracks left: on to the conclusions" : "on to the conclusions";
  const panel = element("section", "round" + (e.backtrack ? " backtrack" : ""));
  panel.append(element("h3", "", `Round ${e.round + 1}: second best ${percent(e.second_best)} ${low ? "≤" : ">"} cutoff ${percent(e.cutoff)}; ${next}`));
  const ranking = element("ol", "ranking");
  ranking.setAttribute("aria-label", "Every reasoning so far, best first");
  for (const r of e.ranking) ranking.append(element("li", "", `${candidateName(r.index, r.candidate)}: P(correct) ${percent(r.score)}`));
  panel.append(ranking);
  s.rounds.append(panel);
}

// SWIRES keeps two captions a round; which one the answer uses is known with its conclusion.
function onKept(e) {
  const s = stages.get(e.index);
  if (!s) return;
  s.cards.forEach((c, i) => c.card.classList.add(e.candidates.includes(i) ? "kept" : "loser"));
  s.box.classList.remove("running");
}

// A winner may come late (SWIRES names the answer's caption and reasoning with its conclusion): it replaces "kept".
function onStageWinner(e) {
  const s = stages.get(e.index);
  if (!s) return;
  s.cards.forEach((c, i) => {
    if (i === e.candidate) {
      c.card.classList.remove("kept", "loser");
      c.card.classList.add("winner");
    } else if (!c.card.classList.contains("kept")) c.card.classList.add("loser");
  });
  s.box.classList.remove("running");
}

function onFinal(result) {
  $("conclusion").textContent = result.conclusion || "(no conclusion)";
  const cost = $("cost");
  cost.replaceChildren();
  const rows = [
    ["seconds", result.elapsed_seconds.toFixed(1)],
    ["vision passes", result.cost?.vision_passes],
    ["image cache", result.cost ? (result.cost.image_cache_hits ? "hit" : result.cost.image_cache_misses ? "miss" : undefined) : undefined],
    ["prefilled tokens", result.cost?.prefilled_tokens],
    ["decoded tokens", result.cost?.decoded_tokens],
    ["generated tokens", result.generated_tokens],
    ["judge calls", result.judge_calls],
    ["judge tokens", result.judge_tokens],
    ["scorer", result.scorer],
    ["score calls", result.scorer === "verifier" ? result.score_calls : undefined],
    ["score tokens", result.scorer === "verifier" ? result.score_tokens : undefined],
  ];
  for (const [name, value] of rows) {
    if (value === undefined || value === null) continue;
    const row = element("div");
    row.append(element("dt", "", name), element("dd", "", String(value)));
    cost.append(row);
  }
  $("answer").hidden = false;
}

// ---- running and cancelling ----

function reset() {
  stages.clear();
  lastRound = null;
  stagesBox.replaceChildren();
  $("answer").hidden = true;
  showError("");
}

function formData() {
  const data = new FormData();
  if (image) data.append("image", image, image.name);
  data.append("question", $("question").value);
  data.append("mode", modeSelect.value);
  if (!scorerSelect.disabled && scorerSelect.value) data.append("scorer", scorerSelect.value);
  data.append("beam_size", $("beam_size").value || "2");
  data.append("include_tokens", "true");
  for (const name of ["seed", "temperature", "max_new_tokens", "swires_cutoff"]) {
    const value = $(name).disabled ? "" : $(name).value.trim();
    if (value) data.append(name, value);
  }
  return data;
}

async function run() {
  if (!$("question").value.trim()) {
    showError("Type a question first.");
    $("question").focus();
    return;
  }
  reset();
  controller = new AbortController();
  runButton.disabled = true;
  cancelButton.disabled = false;
  setStatus("Sending…");
  try {
    const response = await fetch("/v1/reason", {
      method: "POST", body: formData(), signal: controller.signal, headers: { Accept: "text/event-stream" },
    });
    if (!response.ok) {
      showError(await describeFailure(response));
      setStatus("");
      return;
    }
    let finished = false;
    for await (const { name, data } of events(response)) {
      switch (name) {
        case "accepted": setStatus(`Accepted: ${data.mode}, beam ${data.beam_size}, seed ${data.seed}, ${data.prompt_tokens} prompt tokens`); break;
        case "stage_started": onStageStarted(data); break;
        case "token": onToken(data); break;
        case "candidate_done": onCandidateDone(data); break;
        case "judge": onJudge(data); break;
        case "score": onScore(data); break;
        case "vote": onVote(data); break;
        case "swires_round": onSwiresRound(data); break;
        case "kept": onKept(data); break;
        case "stage_winner": onStageWinner(data); break;
        case "final": onFinal(data.result); finished = true; setStatus("Done."); break;
        case "error": showError(`The search failed: ${data.message}`); finished = true; setStatus(""); break;
      }
    }
    if (!finished) showError("The connection ended before the answer arrived.");
  } catch (err) {
    if (err.name === "AbortError") setStatus("Cancelled: the server stopped the search.");
    else showError(`Could not reach the server: ${err.message}`);
  } finally {
    controller = null;
    runButton.disabled = false;
    cancelButton.disabled = true;
  }
}

form.addEventListener("submit", e => { e.preventDefault(); run(); });
cancelButton.addEventListener("click", () => controller?.abort());
$("question").addEventListener("keydown", e => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
});

fetch("/v1/models").then(r => r.ok ? r.json() : null).then(m => {
  const card = m?.data?.[0];
  if (card) $("model").textContent = `Model: ${card.id} (${card.dtype} on ${card.device}). ${card.description}`;
}).catch(() => { /* the page works without the model line */ });
