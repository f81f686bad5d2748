#include "ragd/retrieval/text_analysis.hpp"

#include "ragd/core/ascii.hpp"

#include <libstemmer.h>

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>

namespace ragd::retrieval {
namespace {

// Sorted, for the reader. Question words and generic verbs ("make", "get", "need")
// are here on purpose: "how do I make ..." says nothing about which passage answers it,
// and in a stored embedding (which has no corpus statistics, no IDF) such words would
// weigh as much as "volcano". BM25 would discount them anyway; one list keeps the dense
// and lexical sides seeing the same terms.
constexpr std::string_view kEnglishStopWords[] = {
    "a", "about", "above", "actually", "after", "again", "all", "also", "am", "an", "and",
    "any", "anything", "are", "as", "at", "be", "because", "been", "before", "being", "below",
    "both", "but", "by", "can", "could", "did", "do", "does", "doing", "done", "down", "during",
    "each", "else", "few", "for", "from", "further", "get", "gets", "getting", "got", "had",
    "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "just", "kind", "let", "like", "lot", "lots", "made", "make",
    "makes", "making", "many", "me", "might", "more", "most", "much", "must", "my", "need",
    "needs", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our",
    "ours", "out", "over", "own", "please", "really", "same", "shall", "she", "should", "so",
    "some", "something", "sort", "such", "take", "takes", "tell", "tells", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "thing", "things", "this",
    "those", "through", "to", "told", "too", "took", "under", "until", "up", "very", "want",
    "wants", "was", "way", "ways", "we", "were", "what", "when", "where", "which", "while",
    "who", "whom", "why", "will", "with", "would", "you", "your", "yours"};

// Articles, pronouns, prepositions, conjunctions and the forms of the auxiliaries: words
// that say nothing about which passage answers a question. Lower case, accents as UTF-8.
constexpr std::string_view kFrenchStopWords[] = {
    "a", "ai", "au", "aux", "avec", "c", "ce", "ces", "cet", "cette", "d", "dans", "de", "des",
    "du", "elle", "elles", "en", "est", "et", "été", "être", "eu", "il", "ils", "j", "je", "l",
    "la", "le", "les", "leur", "leurs", "lui", "m", "ma", "mais", "me", "mes", "moi", "mon", "n",
    "ne", "nos", "notre", "nous", "on", "ont", "ou", "où", "par", "pas", "pour", "qu", "que",
    "qui", "s", "sa", "sans", "se", "ses", "son", "sont", "sur", "t", "ta", "te", "tes", "toi",
    "ton", "tu", "un", "une", "vos", "votre", "vous", "y", "à", "ça", "était", "étaient", "sera",
    "ceci", "cela", "comme", "comment", "quand", "quel", "quelle", "quels", "quelles", "donc",
    "ni", "car", "si", "aussi", "très", "plus", "moins", "fait", "faire", "peut"};

constexpr std::string_view kGermanStopWords[] = {
    "aber", "alle", "als", "also", "am", "an", "auch", "auf", "aus", "bei", "bin", "bis", "bist",
    "da", "damit", "dann", "das", "dass", "dein", "dem", "den", "denn", "der", "des", "die",
    "dies", "diese", "diesem", "diesen", "dieser", "dieses", "doch", "du", "durch", "ein",
    "eine", "einem", "einen", "einer", "eines", "er", "es", "euer", "für", "hat", "hatte",
    "haben", "hier", "ich", "ihr", "ihre", "im", "in", "ist", "ja", "jede", "kann", "kein",
    "keine", "man", "mein", "mich", "mir", "mit", "nach", "nicht", "noch", "nun", "nur", "ob",
    "oder", "ohne", "sehr", "sein", "seine", "sich", "sie", "sind", "so", "über", "um", "und",
    "uns", "unser", "unter", "vom", "von", "vor", "war", "waren", "warum", "was", "weil",
    "welche", "wenn", "wer", "wie", "wir", "wird", "wo", "zu", "zum", "zur", "wurde", "werden"};

constexpr std::string_view kSpanishStopWords[] = {
    "a", "al", "algo", "como", "con", "cual", "cuando", "de", "del", "donde", "el", "ella",
    "ellas", "ellos", "en", "entre", "era", "es", "esa", "ese", "eso", "esta", "este", "esto",
    "están", "está", "fue", "ha", "han", "hay", "la", "las", "le", "les", "lo", "los", "me",
    "mi", "mis", "muy", "más", "ni", "no", "nos", "o", "para", "pero", "por", "porque", "qué",
    "que", "se", "ser", "si", "sin", "sobre", "son", "su", "sus", "también", "te", "tu", "un",
    "una", "uno", "unos", "unas", "y", "ya", "yo", "él", "cómo", "dónde", "cuál", "sí", "hasta",
    "desde", "todo", "todos", "puede", "tiene", "hace"};

// Every word of a query and of every chunk ingested is looked up in a stop list, so each
// is an open-addressing table built at compile time: one short hash and, almost always,
// one comparison.
constexpr std::size_t kStopTableSize = 512;  // a power of two, over twice every list

constexpr std::size_t stop_slot(std::string_view w) {
  std::uint32_t h = 2166136261u;
  for (char c : w) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return (h ^ (h >> 15)) & (kStopTableSize - 1);
}

struct StopTable {
  std::array<std::string_view, kStopTableSize> slots{};
  std::size_t longest = 0;

  bool contains(std::string_view w) const {
    if (w.empty() || w.size() > longest) return false;
    for (std::size_t slot = stop_slot(w);; slot = (slot + 1) & (kStopTableSize - 1)) {
      if (slots[slot].empty()) return false;
      if (slots[slot] == w) return true;
    }
  }
};

template <std::size_t N>
constexpr StopTable make_stop_table(const std::string_view (&words)[N]) {
  static_assert(2 * N <= kStopTableSize);
  StopTable table;
  for (std::string_view w : words) {
    std::size_t slot = stop_slot(w);
    bool present = false;
    while (!table.slots[slot].empty()) {
      present = present || table.slots[slot] == w;
      slot = (slot + 1) & (kStopTableSize - 1);
    }
    if (present) continue;
    table.slots[slot] = w;
    if (w.size() > table.longest) table.longest = w.size();
  }
  return table;
}

struct Language {
  std::string_view name;      // ours, and Snowball's algorithm name
  const StopTable* stop_words;
};

constexpr StopTable kEnglishStop = make_stop_table(kEnglishStopWords);
constexpr StopTable kFrenchStop = make_stop_table(kFrenchStopWords);
constexpr StopTable kGermanStop = make_stop_table(kGermanStopWords);
constexpr StopTable kSpanishStop = make_stop_table(kSpanishStopWords);

constexpr Language kLanguages[] = {
    {"english", &kEnglishStop},
    {"french", &kFrenchStop},
    {"german", &kGermanStop},
    {"spanish", &kSpanishStop},
};
constexpr std::size_t kLanguageCount = std::size(kLanguages);
static_assert(kLanguageCount == std::size(kAnalyzerLanguages), "one stop list per language of the config");

constexpr bool same_languages() {
  for (std::size_t i = 0; i < kLanguageCount; ++i) {
    if (kLanguages[i].name != std::string_view(kAnalyzerLanguages[i])) return false;
  }
  return true;
}
static_assert(same_languages(), "kLanguages in the order of kAnalyzerLanguages");

struct StemmerDeleter {
  void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
};

// A Snowball stemmer keeps its state between calls, so every thread has its own, made on
// first use.
sb_stemmer* stemmer_for(std::size_t language) {
  thread_local std::array<std::unique_ptr<sb_stemmer, StemmerDeleter>, kLanguageCount> stemmers;
  auto& s = stemmers[language];
  if (!s) {
    s.reset(sb_stemmer_new(std::string(kLanguages[language].name).c_str(), "UTF_8"));
    if (!s) throw std::runtime_error("no Snowball stemmer for " + std::string(kLanguages[language].name));
  }
  return s.get();
}

bool is_word_byte(unsigned char c) { return c >= 0x80 || ascii_alnum(c); }

// Lower-cases ASCII and the capitals of Latin-1 (U+00C0..U+00DE but U+00D7, whose UTF-8 is
// C3 80..C3 9E), so "École" and "école" are one word in French and German too.
void lower_word(std::string& word) {
  for (std::size_t i = 0; i < word.size(); ++i) {
    const auto c = static_cast<unsigned char>(word[i]);
    if (c < 0x80) {
      word[i] = ascii_lower(word[i]);
    } else if (c == 0xC3 && i + 1 < word.size()) {
      const auto next = static_cast<unsigned char>(word[i + 1]);
      if (next >= 0x80 && next <= 0x9E && next != 0x97) word[i + 1] = static_cast<char>(next + 0x20);
      ++i;
    }
  }
}

}  // namespace

void AnalyzedText::push_back(std::string_view term) {
  spans_.emplace_back(static_cast<std::uint32_t>(terms_.size()), static_cast<std::uint32_t>(term.size()));
  terms_ += term;
}

TextAnalyzer::TextAnalyzer(const AnalyzerConfig& config) : config_(config), language_(kLanguageCount) {
  for (std::size_t i = 0; i < kLanguageCount; ++i) {
    if (kLanguages[i].name == config_.language) language_ = i;
  }
  if (language_ == kLanguageCount) throw std::invalid_argument("unknown analyzer language '" + config_.language + "'");
  identity_ = config_.language + (config_.stop_words ? "+stop" : "") + "/" + std::to_string(kTextAnalysisVersion);
}

bool TextAnalyzer::is_stop_word(std::string_view word) const {
  return config_.stop_words && kLanguages[language_].stop_words->contains(word);
}

void TextAnalyzer::stem_into(std::string_view word, std::string& out) const {
  sb_stemmer* stemmer = stemmer_for(language_);
  const sb_symbol* stem = sb_stemmer_stem(stemmer, reinterpret_cast<const sb_symbol*>(word.data()),
                                          static_cast<int>(word.size()));
  if (stem == nullptr) {  // out of memory: the word as it is still matches itself
    out.assign(word);
    return;
  }
  out.assign(reinterpret_cast<const char*>(stem), static_cast<std::size_t>(sb_stemmer_length(stemmer)));
}

void TextAnalyzer::analyze(std::string_view text, AnalyzedText& out) const {
  out.clear();
  thread_local std::string word;
  thread_local std::string stem;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    while (i < n && !is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    if (i == n) break;
    const std::size_t start = i;
    while (i < n && is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    word.assign(text.substr(start, i - start));
    lower_word(word);
    if (is_stop_word(word)) continue;
    stem_into(word, stem);
    out.push_back(stem);
  }
}

std::vector<std::string> TextAnalyzer::analyze(std::string_view text) const {
  AnalyzedText terms;
  analyze(text, terms);
  std::vector<std::string> words;
  words.reserve(terms.size());
  for (std::size_t i = 0; i < terms.size(); ++i) words.emplace_back(terms.term(i));
  return words;
}

}  // namespace ragd::retrieval
