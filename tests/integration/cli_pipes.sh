#!/usr/bin/env bash
# gwlz with "-" for -i, -z and -o: standard input and output, byte-identical to
# file mode; messages on stderr only; misuse refused.
. "$(dirname "$0")/common.sh"
D=(-3 "${FIELD_DIMS_SZ3[@]}")
E=0.02

# File mode, the reference.
"$CLI" -f -i "$FIELD" -z "$W/file.gwlz" "${D[@]}" -M ABS $E -q
"$CLI" -z "$W/file.gwlz" -o "$W/file.out" -q

# Compress stdin to stdout: the same stream.
cat "$FIELD" | "$CLI" -f -i - -z - "${D[@]}" -M ABS $E > "$W/pipe.gwlz" 2> "$W/err1"
cmp "$W/file.gwlz" "$W/pipe.gwlz" || fail "stdin->stdout stream differs from file mode"
[ ! -s "$W/err1" ] || fail "unexpected messages: $(cat "$W/err1")"

# The whole pipe: compress | decompress, against file-mode decompression to stdout.
cat "$FIELD" | "$CLI" -f -i - -z - "${D[@]}" -M ABS $E | "$CLI" -z - -o - \
  | cmp - <("$CLI" -z "$W/file.gwlz" -o -) || fail "pipe output differs"
cmp <("$CLI" -z "$W/file.gwlz" -o -) "$W/file.out" || fail "-o - differs from -o FILE"

# Compress and decompress in one run, stdin to stdout; and a stream from a redirect.
cat "$FIELD" | "$CLI" -f -i - -o - "${D[@]}" -M ABS $E | cmp - "$W/file.out" \
  || fail "-i - -o - differs"
"$CLI" -z - -o "$W/redir.out" < "$W/file.gwlz"
cmp "$W/redir.out" "$W/file.out" || fail "-z - from a redirect differs"
# Stream to a file and data to stdout in one run.
"$CLI" -f -i "$FIELD" -z "$W/both.gwlz" -o - "${D[@]}" -M ABS $E | cmp - "$W/file.out" \
  || fail "-z FILE -o - output differs"
cmp "$W/both.gwlz" "$W/file.gwlz" || fail "-z FILE -o - stream differs"

# float64 through the pipe as well.
F64="$(dirname "$FIELD")/nyxlya50_tau_real_50x50x50.f64"
if [ -f "$F64" ]; then
  "$CLI" -d -i "$F64" -z "$W/d.gwlz" -3 50 50 50 -M REL 1e-3 -G 0 -q
  "$CLI" -d -i - -z - -3 50 50 50 -M REL 1e-3 -G 0 < "$F64" | cmp - "$W/d.gwlz" \
    || fail "float64 pipe stream differs"
fi

# The bound holds on what came through the pipe.
err=$(maxerr "$FIELD" "$W/file.out" f4)
le "$err" $E || fail "max error $err > $E"

# -a with data on stdout: the data stays clean, the report goes to stderr.
"$CLI" -z "$W/file.gwlz" -o - -a 2> "$W/report" | cmp - "$W/file.out" || fail "-a polluted stdout"
grep -q '^compression ratio = ' "$W/report" || fail "no -a report on stderr"
"$CLI" -f -i - -z - "${D[@]}" -M ABS $E -a < "$FIELD" 2> "$W/report2" | cmp - "$W/file.gwlz" \
  || fail "-a polluted the stream on stdout"
grep -q '^max error / bound = ' "$W/report2" || fail "no metrics in the -a report"

# Misuse: two outputs on stdout; damaged or empty input. No file named '-'.
cd "$W"
set +e
"$CLI" -f -i "$FIELD" -z - -o - "${D[@]}" -M ABS $E > out.bin 2> err; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "-z - -o - when compressing: exit $rc, expected 2"
[ ! -s out.bin ] || fail "bytes on stdout after a usage error"
grep -q 'standard output' err || fail "no message for -z - -o -"
set +e
head -c 1000 "$W/file.gwlz" | "$CLI" -z - -o - > out.bin 2> err; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "truncated stream on stdin: exit $rc, expected 1"
[ ! -s out.bin ] || fail "bytes on stdout after a failed decompression"
set +e
"$CLI" -f -i - -z - "${D[@]}" -M ABS $E < /dev/null > out.bin 2> err; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q 'input has 0 bytes' err || fail "empty stdin: exit $rc: $(cat err)"
[ ! -e ./- ] || fail "a file named '-' was written"

echo "cli_pipes: stdin/stdout byte-identical to file mode; -a report on stderr; misuse refused"
