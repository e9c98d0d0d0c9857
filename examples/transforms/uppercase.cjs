// A CommonJS module (module.exports = { transform }): the record's text in upper case. A record that
// is not UTF-8 text is still written; one whose text is empty is filtered out.
module.exports = {
  transform(record) {
    const text = record.text();
    return text.length === 0 ? null : text.toUpperCase();
  },
};
