// The query workbench's editor at /sparql: CodeMirror 6 with its SPARQL mode, bundled by esbuild
// (`make` builds server/odr_kg/web/static/build/sparql-editor.js from this file). The page works
// without it: the form's textarea is the editor then, the examples are links, the results a table.
//
// What it adds:
//  - highlighting, bracket matching, undo history, line numbers;
//  - completion of keywords, of the dataset's prefixes (a PREFIX line is added when a prefixed
//    name needs one) and of its terms with their labels, read once from /sparql/completions;
//  - Ctrl+Enter (Cmd+Enter) runs the query; a query too long for a URL is sent by POST;
//  - choosing an example keeps what was typed one undo (or the Undo button) away;
//  - a syntax error reported by the server is marked at its line and column;
//  - the results table sorts by any column.
//
// Content-Security-Policy: the page allows no inline style. CodeMirror writes its styles through
// a style element in a document, and through a constructed style sheet in a shadow root, which
// the policy does not govern; so the editor lives in a shadow root.
"use strict";

import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, isolateHistory, undo } from "@codemirror/commands";
import { bracketMatching, defaultHighlightStyle, StreamLanguage, syntaxHighlighting } from "@codemirror/language";
import { sparql } from "@codemirror/legacy-modes/mode/sparql";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";

const KEYWORDS = [
  "PREFIX", "BASE", "SELECT", "DISTINCT", "REDUCED", "CONSTRUCT", "DESCRIBE", "ASK", "FROM",
  "NAMED", "WHERE", "OPTIONAL", "FILTER", "BIND", "VALUES", "GRAPH", "UNION", "MINUS", "GROUP BY",
  "HAVING", "ORDER BY", "LIMIT", "OFFSET", "ASC", "DESC", "NOT EXISTS", "EXISTS", "AS", "COUNT",
  "SUM", "MIN", "MAX", "AVG", "SAMPLE", "GROUP_CONCAT", "STR", "LANG", "LANGMATCHES", "DATATYPE",
  "BOUND", "IRI", "REGEX", "CONTAINS", "STRSTARTS", "STRENDS", "LCASE", "UCASE", "YEAR", "NOW",
  "COALESCE", "IF", "isIRI", "isLiteral", "isBlank",
];

const theme = EditorView.theme({
  "&": {
    border: "1px solid #8a8f98",
    borderRadius: "4px",
    background: "#fff",
    fontSize: "0.9rem",
  },
  "&.cm-focused": { outline: "2px solid #1f5fa8", outlineOffset: "1px" },
  ".cm-scroller": {
    fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace',
    lineHeight: "1.4",
    minHeight: "18rem",
    maxHeight: "36rem",
  },
  ".cm-content": { padding: "0.5rem 0" },
  ".cm-gutters": { background: "#f3f5f8", color: "#6a6f78", borderRight: "1px solid #d0d4da" },
  ".cm-activeLine": { background: "#f3f7fd" },
  ".cm-tooltip-autocomplete .cm-completionDetail": { color: "#6a6f78", fontStyle: "normal" },
});

let vocabulary = null;

async function loadVocabulary(url) {
  if (vocabulary === null) {
    // A failed or refused request (a busy server answers 503) is not kept: the next
    // completion asks again, instead of the page completing nothing for its whole life.
    vocabulary = fetch(url, { headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) throw new Error(`completions: ${response.status}`);
        return response.json();
      })
      .catch(() => {
        vocabulary = null;
        return { prefixes: {}, terms: [] };
      });
  }
  return vocabulary;
}

function declaredPrefixes(text) {
  const found = new Set();
  for (const match of text.matchAll(/^\s*PREFIX\s+([A-Za-z][\w.-]*)?:/gim)) {
    found.add(match[1] || "");
  }
  return found;
}

// The change that declares `prefix` after the PREFIX lines at the top, if it is not declared.
function prefixDeclaration(state, prefix, namespace) {
  const text = state.doc.toString();
  if (declaredPrefixes(text).has(prefix)) {
    return [];
  }
  let insertAt = 0;
  for (const line of text.split("\n")) {
    if (!/^\s*(PREFIX|BASE)\b/i.test(line)) {
      break;
    }
    insertAt += line.length + 1;
  }
  return [{ from: Math.min(insertAt, text.length), insert: `PREFIX ${prefix}: <${namespace}>\n` }];
}

function completionSource(url) {
  return async (context) => {
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, context.pos - line.from);
    const data = await loadVocabulary(url);
    const afterPrefixKeyword = /^\s*PREFIX\s+([A-Za-z][\w.-]*:?)?$/i.exec(before);
    if (afterPrefixKeyword) {
      const typed = afterPrefixKeyword[1] || "";
      return {
        from: context.pos - typed.length,
        options: Object.entries(data.prefixes).map(([prefix, namespace]) => ({
          label: `${prefix}: <${namespace}>`,
          type: "namespace",
        })),
      };
    }
    const name = context.matchBefore(/[A-Za-z][\w.-]*:[\w.-]*$/);
    if (name) {
      const prefix = name.text.slice(0, name.text.indexOf(":"));
      const namespace = data.prefixes[prefix];
      if (!namespace) {
        return null;
      }
      return {
        from: name.from,
        validFor: /^[A-Za-z][\w.-]*:[\w.-]*$/,
        options: data.terms
          .filter((term) => term.name.startsWith(`${prefix}:`))
          .map((term) => ({
            label: term.name,
            detail: term.label,
            type: term.kind,
            apply: (view, completion, from, to) => {
              view.dispatch({
                changes: [
                  ...prefixDeclaration(view.state, prefix, namespace),
                  { from, to, insert: completion.label },
                ],
              });
            },
          })),
      };
    }
    const word = context.matchBefore(/[A-Za-z_]\w*$/);
    if (!word || (word.from === word.to && !context.explicit)) {
      return null;
    }
    const prefixes = Object.keys(data.prefixes).map((prefix) => ({
      label: `${prefix}:`,
      type: "namespace",
      detail: data.prefixes[prefix],
    }));
    return {
      from: word.from,
      options: [...KEYWORDS.map((keyword) => ({ label: keyword, type: "keyword" })), ...prefixes],
    };
  };
}

// Mark the position the server's parser stopped at (data-line and data-column of the error).
function showError(view, error) {
  const lineNumber = Number(error.dataset.line);
  const column = Number(error.dataset.column);
  if (!lineNumber || lineNumber > view.state.doc.lines) {
    return;
  }
  const line = view.state.doc.line(lineNumber);
  const at = (col) => Math.min(line.from + Math.max(col - 1, 0), line.to);
  const to = at(column);
  const from = Math.min(at(Number(error.dataset.from) || column), to);
  view.dispatch(
    setDiagnostics(view.state, [
      { from, to, severity: "error", message: error.dataset.message || "" },
    ]),
  );
}

function sortable(table) {
  const headers = Array.from(table.tHead ? table.tHead.rows[0].cells : []);
  headers.forEach((header, column) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.textContent = header.textContent;
    header.textContent = "";
    header.append(button);
    button.addEventListener("click", () => {
      const ascending = header.getAttribute("aria-sort") !== "ascending";
      headers.forEach((other) => other.removeAttribute("aria-sort"));
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      const key = (row) => {
        const cell = row.cells[column];
        return cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
      };
      const compare = new Intl.Collator(undefined, { numeric: true }).compare;
      rows.sort((a, b) => {
        const x = key(a);
        const y = key(b);
        const nx = Number(x);
        const ny = Number(y);
        const order = x !== "" && y !== "" && !Number.isNaN(nx) && !Number.isNaN(ny)
          ? nx - ny
          : compare(x, y);
        return ascending ? order : -order;
      });
      body.append(...rows);
    });
  });
}

function start() {
  const form = document.getElementById("workbench");
  const textarea = document.getElementById("query");
  if (!form || !textarea) {
    return;
  }
  const status = document.getElementById("editor-status");
  const say = (message, withUndo) => {
    status.textContent = message;
    if (withUndo) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = "Undo";
      button.addEventListener("click", () => {
        undo(view);
        status.textContent = "Your query is back.";
        view.focus();
      });
      status.append(" ", button);
    }
  };

  const host = document.createElement("div");
  host.id = "editor";
  textarea.after(host);
  const root = host.attachShadow({ mode: "open" });
  const run = () => {
    form.requestSubmit();
    return true;
  };
  const view = new EditorView({
    root,
    parent: root,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        lineNumbers(),
        history(),
        bracketMatching(),
        closeBrackets(),
        highlightActiveLine(),
        lintGutter(),
        StreamLanguage.define(sparql),
        syntaxHighlighting(defaultHighlightStyle),
        autocompletion({ override: [completionSource(form.dataset.completions)] }),
        keymap.of([
          { key: "Mod-Enter", run },
          ...closeBracketsKeymap,
          ...defaultKeymap,
          ...historyKeymap,
          ...completionKeymap,
        ]),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ "aria-label": "SPARQL query", spellcheck: "false" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) {
            textarea.value = update.state.doc.toString();
          }
        }),
        theme,
      ],
    }),
  });
  textarea.hidden = true;
  textarea.closest("label, p")?.classList.add("has-editor");
  document.querySelector('label[for="query"]')?.addEventListener("click", () => view.focus());

  const picker = document.getElementById("example");
  let fromExample = picker && picker.value ? picker.value : null;
  picker?.addEventListener("change", () => {
    if (!picker.value) {
      return;
    }
    const typed = view.state.doc.toString();
    const replacesTyping = typed.trim() !== "" && typed !== fromExample;
    // An undo step of its own, however soon it follows the typing.
    view.dispatch({
      changes: { from: 0, to: view.state.doc.length, insert: picker.value },
      annotations: isolateHistory.of("full"),
    });
    fromExample = picker.value;
    say(
      replacesTyping ? "The example replaced your query." : "",
      replacesTyping,
    );
    view.focus();
  });

  // A query whose URL would pass the server's limit goes by POST (its answer then has no
  // shareable address; a GET keeps one).
  form.addEventListener("submit", () => {
    textarea.value = view.state.doc.toString();
    const limit = Number(form.dataset.maxUrl || 0);
    const data = new URLSearchParams(new FormData(form));
    const length = new URL(form.action).pathname.length + data.toString().length + 1;
    if (limit && length > limit) {
      form.method = "post";
    }
  });

  const error = document.getElementById("error");
  if (error) {
    showError(view, error);
  }
  const table = document.getElementById("results-table");
  if (table) {
    sortable(table);
  }
  window.odrEditor = view; // for the browser tests and the curious
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
