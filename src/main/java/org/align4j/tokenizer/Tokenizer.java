package org.align4j.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A Hugging Face tokenizer directory: {@code tokenizer.json} (run by the Rust tokenizers library
 * through DJL), {@code tokenizer_config.json} (special tokens, chat template) and optionally
 * {@code chat_template.jinja} and {@code generation_config.json}.
 *
 * <p>Encoding follows the tokenizer's post-processor: {@link #encode} adds BOS/EOS only where
 * {@code tokenizer.json}'s post-processor adds them; nothing is truncated or padded.
 */
public final class Tokenizer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] SPECIAL_KEYS = {
        "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
    };

    private final Path dir;
    private final HuggingFaceTokenizer hf;
    private final Map<String, Integer> tokenIds;
    private final int vocabSize;
    private final int eosId;
    private final Integer bosId;
    private final int padId;
    private final int[] stopIds;
    private final Map<String, Object> specialTokens;
    private Map<String, String> chatTemplates;
    private String chatTemplateOrigin;
    private final boolean cleanUpSpaces;

    private Tokenizer(
            Path dir,
            HuggingFaceTokenizer hf,
            Map<String, Integer> tokenIds,
            int vocabSize,
            int eosId,
            Integer bosId,
            int padId,
            int[] stopIds,
            Map<String, Object> specialTokens,
            Map<String, String> chatTemplates,
            String chatTemplateOrigin,
            boolean cleanUpSpaces) {
        this.dir = dir;
        this.hf = hf;
        this.tokenIds = tokenIds;
        this.vocabSize = vocabSize;
        this.eosId = eosId;
        this.bosId = bosId;
        this.padId = padId;
        this.stopIds = stopIds;
        this.specialTokens = specialTokens;
        this.chatTemplates = chatTemplates;
        this.chatTemplateOrigin = chatTemplateOrigin;
        this.cleanUpSpaces = cleanUpSpaces;
    }

    /**
     * Loads the tokenizer in {@code modelDir}.
     *
     * @throws TokenizerException naming the file when one is missing, malformed or inconsistent
     */
    public static Tokenizer load(Path modelDir) {
        if (!Files.isDirectory(modelDir)) {
            throw new TokenizerException(
                    "tokenizer directory " + modelDir + " does not exist or is not a directory; pass the "
                            + "folder that holds tokenizer.json and tokenizer_config.json");
        }
        Path tokenizerJson = modelDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new TokenizerException("missing " + tokenizerJson
                    + ": align4j needs the fast-tokenizer file; create it with "
                    + "transformers: AutoTokenizer.from_pretrained(<model>).save_pretrained(\"" + modelDir + "\")");
        }
        Vocab vocab = readVocab(tokenizerJson);

        Path configPath = modelDir.resolve("tokenizer_config.json");
        JsonNode config = Files.isRegularFile(configPath) ? readJson(configPath) : JSON.createObjectNode();
        if (!config.isObject()) {
            throw new TokenizerException(configPath + " must hold a JSON object; re-save the tokenizer");
        }

        Map<String, Object> special = new LinkedHashMap<>();
        for (String key : SPECIAL_KEYS) {
            String v = tokenContent(config.get(key), configPath, key);
            if (v != null) {
                special.put(key, v);
            }
        }
        JsonNode extraSpecial = config.get("additional_special_tokens");
        if (extraSpecial != null && extraSpecial.isArray() && !extraSpecial.isEmpty()) {
            List<String> list = new ArrayList<>();
            for (JsonNode t : extraSpecial) {
                list.add(tokenContent(t, configPath, "additional_special_tokens"));
            }
            special.put("additional_special_tokens", list);
        }

        Path genPath = modelDir.resolve("generation_config.json");
        List<Integer> genEos = new ArrayList<>();
        if (Files.isRegularFile(genPath)) {
            JsonNode gen = readJson(genPath);
            JsonNode e = gen.get("eos_token_id");
            if (e != null && e.isIntegralNumber()) {
                genEos.add(e.intValue());
            } else if (e != null && e.isArray()) {
                for (JsonNode x : e) {
                    if (!x.isIntegralNumber()) {
                        throw new TokenizerException(
                                genPath + ": eos_token_id must be an int or a list of ints, found " + e);
                    }
                    genEos.add(x.intValue());
                }
            } else if (e != null && !e.isNull()) {
                throw new TokenizerException(genPath + ": eos_token_id must be an int or a list of ints, found " + e);
            }
        }

        int eos;
        String eosToken = (String) special.get("eos_token");
        if (eosToken != null) {
            eos = idOf(vocab, eosToken, configPath, "eos_token", tokenizerJson);
        } else if (!genEos.isEmpty()) {
            eos = genEos.get(0);
        } else {
            throw new TokenizerException("no eos token: " + configPath + " has no eos_token"
                    + (Files.isRegularFile(genPath)
                            ? " and " + genPath + " has no eos_token_id"
                            : " and there is no generation_config.json")
                    + "; add \"eos_token\" to tokenizer_config.json");
        }
        Integer bos = special.containsKey("bos_token")
                ? idOf(vocab, (String) special.get("bos_token"), configPath, "bos_token", tokenizerJson)
                : null;
        int pad = special.containsKey("pad_token")
                ? idOf(vocab, (String) special.get("pad_token"), configPath, "pad_token", tokenizerJson)
                : eos;
        Set<Integer> stops = new LinkedHashSet<>();
        stops.add(eos);
        stops.addAll(genEos);
        for (int id : stops) {
            if (id < 0 || id >= vocab.size) {
                throw new TokenizerException(genPath + ": eos_token_id " + id + " is outside the vocabulary (size "
                        + vocab.size + ") of " + tokenizerJson);
            }
        }

        Map<String, String> templates = new LinkedHashMap<>();
        String origin = configPath + " chat_template";
        Path jinjaFile = modelDir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinjaFile)) {
            templates.put("default", readString(jinjaFile));
            origin = jinjaFile.toString();
        } else {
            JsonNode ct = config.get("chat_template");
            if (ct != null && ct.isTextual()) {
                templates.put("default", ct.asText());
            } else if (ct != null && ct.isArray()) {
                for (JsonNode t : ct) {
                    JsonNode name = t.get("name");
                    JsonNode text = t.get("template");
                    if (name == null || !name.isTextual() || text == null || !text.isTextual()) {
                        throw new TokenizerException(
                                configPath + ": chat_template list entries must be {\"name\": ..., \"template\": ...}");
                    }
                    templates.put(name.asText(), text.asText());
                }
            } else if (ct != null && !ct.isNull()) {
                throw new TokenizerException(
                        configPath + ": chat_template must be a string or a list of {name, template}");
            }
        }
        JsonNode cleanup = config.get("clean_up_tokenization_spaces");
        boolean cleanUp = cleanup != null && cleanup.asBoolean(false);

        HuggingFaceTokenizer hf = openNative(tokenizerJson);
        try {
            checkAddFlags(hf, config, configPath, tokenizerJson, bos, eos);
        } catch (RuntimeException e) {
            hf.close();
            throw e;
        }
        return new Tokenizer(
                modelDir,
                hf,
                vocab.ids,
                vocab.size,
                eos,
                bos,
                pad,
                stops.stream().mapToInt(Integer::intValue).toArray(),
                special,
                templates,
                origin,
                cleanUp);
    }

    /**
     * transformers' Llama-family tokenizers add BOS/EOS as tokenizer_config.json's add_bos_token /
     * add_eos_token say; align4j follows tokenizer.json's post-processor. When both are given and
     * disagree the encodings would differ, so refuse the directory.
     */
    private static void checkAddFlags(
            HuggingFaceTokenizer hf, JsonNode config, Path configPath, Path tokenizerJson, Integer bos, int eos) {
        long[] with = hf.encode("a", true, false).getIds();
        long[] without = hf.encode("a", false, false).getIds();
        JsonNode addBos = config.get("add_bos_token");
        if (bos != null && addBos != null && addBos.isBoolean()) {
            boolean adds = with.length > without.length && with[0] == bos;
            if (adds != addBos.asBoolean()) {
                throw new TokenizerException(
                        configPath + " has add_bos_token=" + addBos.asBoolean() + " but the post-processor in "
                                + tokenizerJson + (adds ? " adds" : " does not add") + " the BOS token; re-save the "
                                + "tokenizer with transformers (save_pretrained) so that both agree");
            }
        }
        JsonNode addEos = config.get("add_eos_token");
        if (addEos != null && addEos.isBoolean()) {
            boolean adds = with.length > without.length && with[with.length - 1] == eos;
            if (adds != addEos.asBoolean()) {
                throw new TokenizerException(
                        configPath + " has add_eos_token=" + addEos.asBoolean() + " but the post-processor in "
                                + tokenizerJson + (adds ? " adds" : " does not add") + " the EOS token; re-save the "
                                + "tokenizer with transformers (save_pretrained) so that both agree");
            }
        }
    }

    private static HuggingFaceTokenizer openNative(Path tokenizerJson) {
        // never let DJL reach the network (it would probe a metadata address)
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
        Map<String, String> options = new HashMap<>();
        options.put("addSpecialTokens", "false");
        options.put("truncation", "false");
        options.put("padding", "false");
        options.put("withOverflowingTokens", "false");
        try {
            return HuggingFaceTokenizer.newInstance(tokenizerJson, options);
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + tokenizerJson + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new TokenizerException(
                    "the tokenizers library rejected " + tokenizerJson + ": " + e.getMessage()
                            + "; re-save it with a recent transformers/tokenizers version",
                    e);
        }
    }

    // ------------------------------------------------------------------ encoding

    /** Encodes as the tokenizer's post-processor does (BOS/EOS only if it adds them). */
    public long[] encode(String text) {
        return hf.encode(text, true, false).getIds();
    }

    /** Encodes without any special tokens added. */
    public long[] encodeNoSpecial(String text) {
        return hf.encode(text, false, false).getIds();
    }

    /**
     * Decodes ids to text; {@code skipSpecialTokens} drops added tokens marked special. Applies
     * transformers' {@code clean_up_tokenization_spaces} when tokenizer_config.json enables it.
     */
    public String decode(long[] ids, boolean skipSpecialTokens) {
        // Ids past the tokenizer's vocabulary (the padding rows of a model's embedding, e.g. Qwen's
        // 151936 rows for 151669 tokens) decode to nothing, as in HF tokenizers' decode; a negative
        // id is a bug upstream.
        long[] known = java.util.Arrays.stream(ids).filter(id -> id < vocabSize).toArray();
        for (long id : known) {
            if (id < 0)
                throw new IllegalArgumentException("negative token id " + id + " passed to decode (" + dir + ")");
        }
        String s = hf.decode(known, skipSpecialTokens);
        return cleanUpSpaces ? cleanUpTokenization(s) : s;
    }

    /** transformers' {@code clean_up_tokenization}. */
    static String cleanUpTokenization(String s) {
        return s.replace(" .", ".")
                .replace(" ?", "?")
                .replace(" !", "!")
                .replace(" ,", ",")
                .replace(" ' ", "'")
                .replace(" n't", "n't")
                .replace(" 'm", "'m")
                .replace(" 's", "'s")
                .replace(" 've", "'ve")
                .replace(" 're", "'re");
    }

    /** The id of a token string (vocabulary or added token), if it is one token. */
    public OptionalInt tokenId(String token) {
        Integer id = tokenIds.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    public int eosTokenId() {
        return eosId;
    }

    public OptionalInt bosTokenId() {
        return bosId == null ? OptionalInt.empty() : OptionalInt.of(bosId);
    }

    /** The pad token's id, or the eos id when the tokenizer has no pad token. */
    public int padTokenId() {
        return padId;
    }

    /** Ids that end generation: eos, then generation_config.json's eos_token_id(s), deduplicated. */
    public int[] stopTokenIds() {
        return stopIds.clone();
    }

    /** Number of token ids, added tokens included ({@code len(tokenizer)} in transformers). */
    public int vocabSize() {
        return vocabSize;
    }

    /** The special tokens as transformers passes them to chat templates (special_tokens_map). */
    public Map<String, Object> specialTokens() {
        return java.util.Collections.unmodifiableMap(specialTokens);
    }

    /**
     * Renders conversations with {@code template} instead of the tokenizer's own (a recipe's {@code chat_template},
     * as transformers' tokenizer.chat_template = ... does); {@code origin} names it in errors.
     */
    public void overrideChatTemplate(String template, String origin) {
        if (template == null || template.isBlank())
            throw new TokenizerException(origin + ": the chat template is empty");
        this.chatTemplates = Map.of("default", template);
        this.chatTemplateOrigin = origin;
    }

    public boolean hasChatTemplate() {
        return !chatTemplates.isEmpty();
    }

    /**
     * The chat template transformers would pick: the only one, "tool_use" when tools are passed and
     * it exists, else "default".
     */
    public ChatTemplate chatTemplate(boolean withTools) {
        if (chatTemplates.isEmpty()) {
            throw new TokenizerException(
                    "no chat template: " + dir + " has no chat_template.jinja and tokenizer_config.json has no "
                            + "\"chat_template\"; add one (for example the instruct model's template) or use "
                            + "plain-text (non-conversational) data");
        }
        String name;
        if (withTools && chatTemplates.containsKey("tool_use")) {
            name = "tool_use";
        } else if (chatTemplates.containsKey("default")) {
            name = "default";
        } else if (chatTemplates.size() == 1) {
            name = chatTemplates.keySet().iterator().next();
        } else {
            throw new TokenizerException(dir.resolve("tokenizer_config.json") + " has several chat templates "
                    + chatTemplates.keySet() + " and none named \"default\"; name one \"default\"");
        }
        String origin = chatTemplates.size() > 1 ? chatTemplateOrigin + " '" + name + "'" : chatTemplateOrigin;
        return new ChatTemplate(chatTemplates.get(name), origin);
    }

    /**
     * Renders messages with the chat template, as transformers' {@code apply_chat_template(messages,
     * add_generation_prompt=..., tokenize=False, **extraVars)}. Pass tools as
     * {@code extraVars.get("tools")}; other entries (e.g. {@code enable_thinking}) become template
     * variables.
     */
    public String applyChatTemplate(
            List<? extends Map<String, ?>> messages, boolean addGenerationPrompt, Map<String, ?> extraVars) {
        boolean tools = extraVars != null && extraVars.get("tools") != null;
        return chatTemplate(tools).apply(messages, addGenerationPrompt, specialTokens, extraVars);
    }

    @Override
    public void close() {
        hf.close();
    }

    // ------------------------------------------------------------------ file reading

    private record Vocab(Map<String, Integer> ids, int size) {}

    private static String readString(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode readJson(Path p) {
        try {
            return JSON.readTree(p.toFile());
        } catch (JsonProcessingException e) {
            throw malformed(p, e);
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    private static TokenizerException malformed(Path p, JsonProcessingException e) {
        String where = e.getLocation() == null
                ? ""
                : " at line " + e.getLocation().getLineNr() + ", column "
                        + e.getLocation().getColumnNr();
        return new TokenizerException(
                p + " is not valid JSON" + where + " (" + e.getOriginalMessage() + "); re-download or re-save "
                        + "the tokenizer files",
                e);
    }

    /**
     * Reads the token-to-id map of tokenizer.json (model vocab plus added_tokens) with a streaming
     * parser; the native library reads the file again for encoding.
     */
    private static Vocab readVocab(Path p) {
        Map<String, Integer> ids = new HashMap<>(1 << 18);
        int maxId = -1;
        boolean sawModel = false;
        try (JsonParser jp = new JsonFactory().createParser(p.toFile())) {
            if (jp.nextToken() != JsonToken.START_OBJECT) {
                throw new TokenizerException(p + " must hold a JSON object (a tokenizers-library tokenizer.json)");
            }
            while (jp.nextToken() == JsonToken.FIELD_NAME) {
                String field = jp.currentName();
                jp.nextToken();
                if (field.equals("model") && jp.currentToken() == JsonToken.START_OBJECT) {
                    sawModel = true;
                    while (jp.nextToken() == JsonToken.FIELD_NAME) {
                        String f = jp.currentName();
                        jp.nextToken();
                        if (f.equals("vocab") && jp.currentToken() == JsonToken.START_OBJECT) {
                            while (jp.nextToken() == JsonToken.FIELD_NAME) {
                                String tok = jp.currentName();
                                jp.nextToken();
                                int id = jp.getIntValue();
                                ids.put(tok, id);
                                maxId = Math.max(maxId, id);
                            }
                        } else if (f.equals("vocab") && jp.currentToken() == JsonToken.START_ARRAY) {
                            int id = 0; // Unigram: [[piece, score], ...]
                            while (jp.nextToken() == JsonToken.START_ARRAY) {
                                jp.nextToken();
                                ids.put(jp.getText(), id);
                                maxId = Math.max(maxId, id);
                                id++;
                                while (jp.nextToken() != JsonToken.END_ARRAY) {
                                    jp.skipChildren();
                                }
                            }
                        } else {
                            jp.skipChildren();
                        }
                    }
                } else if (field.equals("added_tokens") && jp.currentToken() == JsonToken.START_ARRAY) {
                    while (jp.nextToken() == JsonToken.START_OBJECT) {
                        JsonNode t = JSON.readTree(jp);
                        JsonNode id = t.get("id");
                        JsonNode content = t.get("content");
                        if (id == null || content == null) {
                            throw new TokenizerException(
                                    p + ": an added_tokens entry lacks \"id\" or \"content\": " + t);
                        }
                        ids.put(content.asText(), id.intValue());
                        maxId = Math.max(maxId, id.intValue());
                    }
                } else {
                    jp.skipChildren();
                }
            }
        } catch (JsonProcessingException e) {
            throw malformed(p, e);
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + p + ": " + e.getMessage(), e);
        }
        if (!sawModel || ids.isEmpty()) {
            throw new TokenizerException(
                    p + " has no \"model\" vocabulary; it is not a tokenizers-library tokenizer.json");
        }
        // transformers' len(tokenizer): distinct ids of vocab and added tokens
        int size = Math.max(maxId + 1, new java.util.HashSet<>(ids.values()).size());
        return new Vocab(ids, size);
    }

    private static String tokenContent(JsonNode v, Path configPath, String key) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isTextual()) {
            return v.asText();
        }
        if (v.isObject() && v.get("content") != null && v.get("content").isTextual()) {
            return v.get("content").asText();
        }
        throw new TokenizerException(
                configPath + ": " + key + " must be a string, {\"content\": ...} or null, found " + v);
    }

    private static int idOf(Vocab vocab, String token, Path configPath, String key, Path tokenizerJson) {
        Integer id = vocab.ids.get(token);
        if (id == null) {
            throw new TokenizerException(
                    key + " '" + token + "' from " + configPath + " is not in the vocabulary or added_tokens of "
                            + tokenizerJson + "; fix " + key + " in tokenizer_config.json");
        }
        return id;
    }
}
