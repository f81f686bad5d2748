#include "ragd/llm/offline_generator.hpp"
#include "ragd/core/completion_token.hpp"

#include "ragd/core/ascii.hpp"
#include "ragd/llm/markdown_sentences.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace ragd::llm {

namespace {

// Common English function words: they match everywhere and say nothing about the topic.
const std::unordered_set<std::string>& stop_words() {
  static const std::unordered_set<std::string> words = {
      "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and",
      "any", "are", "as", "at", "be", "because", "been", "before", "being", "below",
      "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "done",
      "down", "during", "each", "either", "else", "ever", "few", "for", "from", "further",
      "get", "gets", "got", "had", "has", "have", "having", "he", "her", "here", "hers",
      "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just",
      "let", "like", "may", "me", "might", "more", "most", "much", "must", "my", "no", "nor",
      "not", "now", "of", "off", "on", "once", "one", "only", "or", "other", "our", "ours",
      "out", "over", "own", "please", "same", "shall", "she", "should", "so", "some",
      "such", "than", "that", "the", "their", "theirs", "them", "then", "there", "these",
      "they", "this", "those", "through", "to", "too", "under", "until", "up", "upon",
      "us", "use", "used", "using", "very", "was", "we", "were", "what", "when", "where",
      "whether", "which", "while", "who", "whom", "whose", "why", "will", "with", "within",
      "without", "would", "yes", "yet", "you", "your", "yours", "tell", "explain",
      "describe", "know"};
  return words;
}

bool is_word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

bool ends_with(const std::string& w, std::string_view suffix) {
  return w.size() >= suffix.size() && w.compare(w.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "running" -> "runn" -> "run"; double l, s, z stay ("install", "class").
void undouble(std::string& w) {
  const std::size_t n = w.size();
  if (n >= 3 && w[n - 1] == w[n - 2] && !is_vowel(w[n - 1]) && w[n - 1] != 'l' &&
      w[n - 1] != 's' && w[n - 1] != 'z') {
    w.pop_back();
  }
}

// Deliberately light: it only has to map a question's word and a passage's word for the
// same idea to one key ("indexes", "indexing", "indexed" -> "index"; "caches",
// "cached", "cache" -> "cach"); it never needs to produce a real word.
std::string stem(std::string w) {
  if (w.size() <= 3 || std::isdigit(static_cast<unsigned char>(w[0]))) return w;
  if (ends_with(w, "ies") && w.size() > 4) {
    w.replace(w.size() - 3, 3, "y");
  } else if (ends_with(w, "sses")) {
    w.resize(w.size() - 2);
  } else if (ends_with(w, "ing") && w.size() > 5) {
    w.resize(w.size() - 3);
    undouble(w);
  } else if (ends_with(w, "ed") && w.size() > 4) {
    w.resize(w.size() - 2);
    undouble(w);
  } else if (ends_with(w, "es") && w.size() > 4 &&
             (ends_with(w, "xes") || ends_with(w, "ches") || ends_with(w, "shes") ||
              ends_with(w, "zes"))) {
    w.resize(w.size() - 2);
  } else if (ends_with(w, "s") && !ends_with(w, "ss") && !ends_with(w, "us") &&
             !ends_with(w, "is")) {
    w.pop_back();
  }
  if (w.size() > 4 && w.back() == 'e') w.pop_back();
  if (w.size() > 4 && w.back() == 'y') w.back() = 'i';
  return w;
}

// A sentence's identity for de-duplication: its letters and digits, lower-cased.
std::string dedup_key(std::string_view s) {
  std::string key;
  for (unsigned char c : s) {
    if (is_word_byte(c)) key += ascii_lower(static_cast<char>(c));
  }
  return key;
}

constexpr std::size_t kMaxSentenceChars = 500;
constexpr std::size_t kMaxAnswerChars = 1500;
constexpr std::size_t kMaxSentences = 4;
constexpr double kKeepRatio = 0.35;    // of the best sentence's score, for the 3rd and 4th
constexpr double kSecondRatio = 0.2;   // for the 2nd

// Ends the sentence with its citation before the final punctuation: "... store [2]."
std::string cite(std::string sentence, std::size_t source) {
  char end = '.';
  if (!sentence.empty() && (sentence.back() == '.' || sentence.back() == '!' || sentence.back() == '?')) {
    end = sentence.back();
    sentence.pop_back();
    if (end == '.' && ends_with(sentence, "..")) {  // keep an ellipsis intact
      sentence += '.';
    }
  }
  while (!sentence.empty() && (sentence.back() == ':' || sentence.back() == ';' || sentence.back() == ',')) {
    sentence.pop_back();
  }
  return sentence + " [" + std::to_string(source + 1) + "]" + end;
}

struct Candidate {
  std::size_t passage = 0;
  std::size_t position = 0;  // sentence index within the passage
  std::string text;
  std::vector<std::string> terms;
  double score = 0;
};

GenerateResult offline_result(std::string text, int prompt_tokens) {
  GenerateResult r;
  r.text = std::move(text);
  r.model = "ragd-offline";
  r.prompt_tokens = prompt_tokens;
  r.completion_tokens = approx_tokens(r.text);
  r.finish_reason = "stop";
  return r;
}

GenerateResult not_found(int prompt_tokens) { return offline_result(std::string(kNotFoundAnswer), prompt_tokens); }

}  // namespace

std::vector<std::string> content_terms(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    bool digit = std::isdigit(static_cast<unsigned char>(word[0]));
    if ((word.size() > 1 || digit) && !stop_words().count(word)) out.push_back(stem(word));
    word.clear();
  };
  for (unsigned char c : text) {
    if (is_word_byte(c)) {
      word += ascii_lower(static_cast<char>(c));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

int approx_tokens(std::string_view text) {
  int n = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    bool space = std::isspace(c);
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

GenerateResult compose_extractive_answer(std::string_view question,
                                         const std::vector<queue::Passage>& passages) {
  int prompt_tokens = approx_tokens(question);
  for (const auto& p : passages) prompt_tokens += approx_tokens(p.text);

  std::vector<std::string> q_terms = content_terms(question);
  std::sort(q_terms.begin(), q_terms.end());
  q_terms.erase(std::unique(q_terms.begin(), q_terms.end()), q_terms.end());
  if (q_terms.empty() || passages.empty()) return not_found(prompt_tokens);

  std::vector<Candidate> candidates;
  std::unordered_map<std::string, int> df;  // sentences holding each question term
  for (std::size_t i = 0; i < passages.size(); ++i) {
    auto sentences = markdown_sentences(passages[i].text);
    for (std::size_t k = 0; k < sentences.size(); ++k) {
      // Quoted whole or not at all.
      if (sentences[k].size() > kMaxSentenceChars) continue;
      Candidate c;
      c.passage = i;
      c.position = k;
      c.terms = content_terms(sentences[k]);
      std::set<std::string> unique(c.terms.begin(), c.terms.end());
      bool any = false;
      for (const auto& t : q_terms) {
        if (unique.count(t)) {
          ++df[t];
          any = true;
        }
      }
      if (!any) continue;
      c.text = std::move(sentences[k]);
      candidates.push_back(std::move(c));
    }
  }
  if (candidates.empty()) return not_found(prompt_tokens);

  // Rare question terms weigh more (idf over the candidate sentences): a word every
  // sentence shares, like the product's name, should not decide the answer.
  const double n = static_cast<double>(candidates.size());
  std::map<std::string, double> weight;
  double total_weight = 0;
  for (const auto& t : q_terms) {
    double w = std::log(1.0 + (n + 1.0) / (static_cast<double>(df[t]) + 0.5));
    weight[t] = w;
    total_weight += w;
  }
  double max_passage_score = 0;
  for (const auto& p : passages) max_passage_score = std::max(max_passage_score, p.score);

  for (auto& c : candidates) {
    std::set<std::string> unique(c.terms.begin(), c.terms.end());
    double matched = 0;
    int hits = 0;
    for (const auto& t : q_terms) {
      if (unique.count(t)) {
        matched += weight[t];
        ++hits;
      }
    }
    const double coverage = matched / total_weight;
    // Short sentences dense in question terms beat long ones that mention a term once.
    const double density = hits / std::sqrt(static_cast<double>(c.terms.size()) + 1.0);
    double passage_weight = 1.0 / (1.0 + 0.15 * static_cast<double>(c.passage));
    if (max_passage_score > 0) {
      passage_weight *= 0.8 + 0.2 * std::max(0.0, passages[c.passage].score) / max_passage_score;
    }
    c.score = (coverage + 0.25 * density) * passage_weight;
  }

  std::vector<const Candidate*> ranked;
  for (const auto& c : candidates) ranked.push_back(&c);
  std::stable_sort(ranked.begin(), ranked.end(), [](const Candidate* a, const Candidate* b) {
    if (a->score != b->score) return a->score > b->score;
    if (a->passage != b->passage) return a->passage < b->passage;
    return a->position < b->position;
  });

  // Greedy selection: the best sentence, then those that add question terms not yet
  // covered (a sentence repeating what is already said counts half).
  std::vector<const Candidate*> picked;
  std::set<std::string> seen;
  std::set<std::string> covered;
  std::size_t chars = 0;
  const double best = ranked.front()->score;
  auto novelty = [&](const Candidate* c) {
    double all = 0, fresh = 0;
    for (const auto& t : q_terms) {
      if (std::find(c->terms.begin(), c->terms.end(), t) == c->terms.end()) continue;
      all += weight[t];
      if (!covered.count(t)) fresh += weight[t];
    }
    return all > 0 ? fresh / all : 0.0;
  };
  while (picked.size() < kMaxSentences) {
    const Candidate* next = nullptr;
    double next_value = 0;
    for (const Candidate* c : ranked) {
      if (std::find(picked.begin(), picked.end(), c) != picked.end()) continue;
      if (seen.count(dedup_key(c->text))) continue;
      if (!picked.empty() && chars + c->text.size() > kMaxAnswerChars) continue;
      const double value = c->score * (0.5 + 0.5 * novelty(c));
      if (!next || value > next_value) {
        next = c;
        next_value = value;
      }
    }
    if (!next) break;
    // Two sentences read as an answer when the second is at least loosely related;
    // more have to earn their place.
    const double floor = picked.size() < 2 ? kSecondRatio : kKeepRatio;
    if (!picked.empty() && next_value < floor * best) break;
    picked.push_back(next);
    seen.insert(dedup_key(next->text));
    chars += next->text.size();
    for (const auto& t : next->terms) covered.insert(t);
  }

  // Read in document order: by passage rank, then as the sentences appear in it.
  std::sort(picked.begin(), picked.end(), [](const Candidate* a, const Candidate* b) {
    if (a->passage != b->passage) return a->passage < b->passage;
    return a->position < b->position;
  });

  std::string text;
  std::set<std::size_t> cited;
  for (const Candidate* c : picked) {
    if (!text.empty()) text += ' ';
    text += cite(c->text, c->passage);
    cited.insert(c->passage);
  }
  text += "\n\nSources:";
  bool first = true;
  for (std::size_t i : cited) {
    const auto& p = passages[i];
    text += first ? " " : "; ";
    first = false;
    text += "[" + std::to_string(i + 1) + "] ";
    if (p.title.empty()) {
      text += p.doc_id;
    } else {
      text += p.title + " (" + p.doc_id + ")";
    }
  }

  return offline_result(std::move(text), prompt_tokens);
}

std::vector<std::string_view> stream_pieces(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t i = begin;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    out.push_back(text.substr(begin, i - begin));
    begin = i;
  }
  return out;
}

namespace {

std::string question_of(const queue::Job& job) {
  std::string question = job.question;
  if (question.empty()) {
    // Jobs built for a chat model may carry only messages: the last user turn is the question.
    for (auto it = job.messages.rbegin(); it != job.messages.rend(); ++it) {
      if (it->role == "user") {
        question = it->content;
        break;
      }
    }
  }
  return question;
}

}  // namespace

boost::asio::awaitable<Result<GenerateResult>> OfflineGenerator::generate(queue::Job job) {
  GenerateResult r = compose_extractive_answer(question_of(job), job.passages);
  r.model = model_;
  co_return r;
}

boost::asio::awaitable<Result<GenerateResult>> OfflineGenerator::generate_stream(queue::Job job, DeltaSink on_delta) {
  GenerateResult r = compose_extractive_answer(question_of(job), job.passages);
  r.model = model_;
  auto ex = co_await boost::asio::this_coro::executor;
  for (std::string_view piece : stream_pieces(r.text)) {
    // Each piece in a turn of its own, so a cancellation can land between two.
    auto cs = co_await boost::asio::this_coro::cancellation_state;
    if (cs.cancelled() != boost::asio::cancellation_type::none) {
      co_return make_error(Errc::cancelled, "the streamed answer was cancelled");
    }
    if (on_delta) on_delta(piece);
    co_await boost::asio::post(ex, kNoThrow);
  }
  co_return r;
}

}  // namespace ragd::llm
