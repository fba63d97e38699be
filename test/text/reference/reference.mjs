// reference.mjs - reference ids, decoded text and rendered chat templates
// for the real-tokenizer comparison of issue 16 (docs/text.md).
//
//   node reference.mjs PACKAGES_DIR SOURCE_DIR OUT_DIR
//
// PACKAGES_DIR holds the npm packages fetch.sh unpacked; SOURCE_DIR is
// test/text (reference/*.json, Inputs/templates). For each family of
// reference/families.json it writes OUT_DIR/<family>/tokenizer.json and
// tokenizer_config.json (the files llmc loads) and OUT_DIR/<family>/
// reference.json: for every corpus item the ids with and without special
// tokens and the decoded text, and for every conversation the chat template
// rendered by @huggingface/jinja (or the error it raised).
//
// The reference tokenizer is @huggingface/tokenizers (tokenizers.js, Hugging
// Face's JavaScript port of the Rust library). Two things transformers does
// on top of tokenizer.json are reproduced here as transformers does them:
// the post-processor Llama-style tokenizer classes rebuild from
// add_bos_token / add_eos_token, and the special-token variables
// apply_chat_template passes to the template.
//
//   node reference.mjs --bench FAMILY_DIR TEXT_FILE PACKAGES_DIR SOURCE_DIR
//
// encodes TEXT_FILE line by line with tokenizers.js and prints its MB/s.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const bench = args[0] === "--bench";
const [pkgDir, srcDir] = bench ? args.slice(3, 5) : args.slice(0, 2);
const readJson = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
const families = readJson(path.join(srcDir, "reference", "families.json"));
const pkgPath = (name) =>
  path.join(pkgDir, `${name}@${families.packages[name]}`, "package");
const { Tokenizer } = await import(
  pathToFileURL(path.join(pkgPath("@huggingface/tokenizers"), "dist", "tokenizers.mjs")).href);
const { Template } = await import(
  pathToFileURL(path.join(pkgPath("@huggingface/jinja"), "dist", "index.js")).href);

const LLAMA_CLASSES = new Set(["LlamaTokenizer", "LlamaTokenizerFast",
  "CodeLlamaTokenizer", "CodeLlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast"]);

const tokenText = (v) => (v == null ? null : typeof v === "string" ? v : v.content ?? null);

function loadFamily(dir) {
  const tj = readJson(path.join(dir, "tokenizer.json"));
  const cfg = readJson(path.join(dir, "tokenizer_config.json"));
  return { tj, cfg, tok: new Tokenizer(tj, cfg) };
}

if (bench) {
  const { tok } = loadFamily(args[1]);
  const lines = fs.readFileSync(args[2], "utf8").split("\n");
  const bytes = fs.statSync(args[2]).size;
  let n = 0;
  for (const l of lines.slice(0, 200)) n += tok.encode(l, { add_special_tokens: false }).ids.length; // warm-up
  const t0 = process.hrtime.bigint();
  n = 0;
  for (const l of lines) n += tok.encode(l, { add_special_tokens: false }).ids.length;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ implementation: "tokenizers.js", seconds: s, mb_per_s: bytes / 1e6 / s, tokens: n }));
  process.exit(0);
}

const outDir = args[2];
const corpus = readJson(path.join(srcDir, "reference", "corpus.json")).items;
const chats = readJson(path.join(srcDir, "reference", "chats.json")).chats;
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

function itemText(it) {
  let bytes;
  if ("hex" in it) bytes = Buffer.from(it.hex.replace(/\s+/g, ""), "hex");
  else if ("repeat" in it) bytes = Buffer.from(it.repeat.repeat(it.times), "utf8");
  else bytes = Buffer.from(it.text, "utf8");
  // Invalid UTF-8 becomes U+FFFD per maximal subpart, as in Python's
  // bytes.decode("utf-8", "replace") and llmc.
  return decoder.decode(bytes);
}

// The transformations that make a family from another one's files.
const transforms = {
  // The Mistral v0.3 / Llama-2 "legacy": false layout: Metaspace pre-tokenizer
  // with prepend_scheme "first" instead of the Prepend + Replace normalizer.
  "metaspace-first": (tj) => {
    tj.normalizer = null;
    tj.pre_tokenizer = { type: "Metaspace", replacement: "\u2581", prepend_scheme: "first", split: false };
    return tj;
  },
};

function render(template, cfg, chat, addGenerationPrompt) {
  const vars = { messages: chat.messages, add_generation_prompt: addGenerationPrompt };
  for (const k of ["bos_token", "eos_token", "unk_token", "pad_token"]) {
    const t = tokenText(cfg[k]);
    if (t != null) vars[k] = t;
  }
  if (chat.tools) vars.tools = chat.tools;
  Object.assign(vars, chat.extra ?? {});
  try {
    return { rendered: new Template(template).render(vars) };
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
}

for (const fam of families.families) {
  const src = path.join(pkgPath(fam.package), "models");
  const dir = path.join(outDir, fam.name);
  fs.mkdirSync(dir, { recursive: true });
  const tjPath = path.join(dir, "tokenizer.json");
  fs.rmSync(tjPath, { force: true });
  if (fam.transform) {
    const tj = transforms[fam.transform](readJson(path.join(src, "tokenizer.json")));
    fs.writeFileSync(tjPath, JSON.stringify(tj));
  } else {
    fs.symlinkSync(path.resolve(src, "tokenizer.json"), tjPath);
  }
  const cfg = readJson(path.join(src, "tokenizer_config.json"));
  if (fam.chat_template)
    cfg.chat_template = fs
      .readFileSync(path.join(srcDir, "Inputs", "templates", fam.chat_template), "utf8")
      .replace(/\n$/, "");
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(cfg, null, 1));

  const { tok } = loadFamily(dir);
  const idOf = (t) => tok.token_to_id(t);
  const rebuild = LLAMA_CLASSES.has(cfg.tokenizer_class) &&
    ("add_bos_token" in cfg || "add_eos_token" in cfg);
  const encode = (text, special) => {
    if (special && rebuild) {
      const ids = tok.encode(text, { add_special_tokens: false }).ids;
      const bos = (cfg.add_bos_token ?? true) ? [idOf(tokenText(cfg.bos_token))] : [];
      const eos = (cfg.add_eos_token ?? false) ? [idOf(tokenText(cfg.eos_token))] : [];
      return [...bos, ...ids, ...eos];
    }
    return tok.encode(text, { add_special_tokens: special }).ids;
  };
  // No clean-up of spaces: transformers 5 ignores clean_up_tokenization_spaces
  // for BPE models (tokenizers.js still applies it), and so does llmc.
  const decode = (ids, skip) => (ids.length
    ? tok.decode(ids, { skip_special_tokens: skip, clean_up_tokenization_spaces: false })
    : "");

  const items = corpus.map((it) => {
    const text = itemText(it);
    const ids = encode(text, false);
    const idsSpecial = encode(text, true);
    return {
      name: it.name,
      ids,
      ids_special: idsSpecial,
      decoded: decode(ids, false),
      decoded_skip: decode(ids, true),
      decoded_special: decode(idsSpecial, false),
    };
  });

  const rendered = [];
  if (cfg.chat_template) {
    for (const chat of chats) {
      if (chat.families && !chat.families.includes(fam.name)) continue;
      for (const gen of [false, true]) {
        const r = render(cfg.chat_template, cfg, chat, gen);
        if (r.rendered !== undefined) r.ids = encode(r.rendered, false);
        rendered.push({ name: chat.name, add_generation_prompt: gen, ...r });
      }
    }
  }
  fs.writeFileSync(path.join(dir, "reference.json"),
    JSON.stringify({ family: fam.name, items, chats: rendered }));
  console.log(`reference.mjs: ${fam.name}: ${items.length} corpus items, ${rendered.length} chat renderings`);
}
