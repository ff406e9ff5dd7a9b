;; kube-postrender: bounds on the nesting depth of a JSON text
;; (src/admission/nesting-bound.ts, which embeds this module assembled by
;; wabt 1.0.39: `npx -p wabt@1.0.39 wat2wasm nesting-bound.wat`, base64).
;;
;; `openers(len)`: the number of `{` and `[` bytes in memory[0, len), 16
;; bytes a step. No JSON text nests deeper than it has openers: a bound that
;; is cheap and tight enough for a text of a few KB.
;;
;; `bound(len)` reads memory[0, len) as the next bytes of one JSON text and
;; returns the bound so far; the state between calls (a text longer than the
;; 64 KiB page is given a page at a time) is in the globals, cleared by
;; `reset`. Strings are followed exactly: a string opens and closes with an
;; unescaped `"`, and inside one a `\` escapes the next byte (the hex digits
;; of `\uXXXX` are neither `"` nor `\`); `{` `[` outside strings open a
;; level, `}` `]` close one.
;;
;; 64 bytes a step: their `"`, `{[` and `}]` bytes as bit masks (SIMD
;; compares); which of them lie in a string is the prefix XOR of the quote
;; bits (flipped when the step starts in a string). The running depth at the
;; end of a step is exact; within the step it is at most the depth at its
;; start plus the step's openers, which is what the bound takes (so it is at
;; most 63 levels over the text's depth). A step with a backslash, or after
;; one that ended on an escape, goes byte by byte ($bytes), as does the tail.
(module
  (memory (export "memory") 1)
  (global $depth (mut i32) (i32.const 0))  ;; levels open at the end of the bytes read
  (global $max (mut i32) (i32.const 0))    ;; the bound so far
  (global $str (mut i32) (i32.const 0))    ;; 1: inside a string
  (global $esc (mut i32) (i32.const 0))    ;; 1: the next byte is escaped

  (func (export "openers") (param $len i32) (result i32)
    (local $i i32) (local $n i32) (local $end i32) (local $v v128)
    (local.set $end (i32.and (local.get $len) (i32.const -16)))
    (block $done (loop $step                            ;; 16 bytes a step
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $v (v128.load (local.get $i)))
      (local.set $n (i32.add (local.get $n) (i32.popcnt (i8x16.bitmask (v128.or
        (i8x16.eq (local.get $v) (i8x16.splat (i32.const 123)))     ;; {
        (i8x16.eq (local.get $v) (i8x16.splat (i32.const 91))))))))  ;; [
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $step)))
    (block $tdone (loop $tail                           ;; the last < 16 bytes
      (br_if $tdone (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $n (i32.add (local.get $n) (i32.or
        (i32.eq (i32.load8_u (local.get $i)) (i32.const 123))
        (i32.eq (i32.load8_u (local.get $i)) (i32.const 91)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $tail)))
    (local.get $n))

  (func (export "reset")
    (global.set $depth (i32.const 0))
    (global.set $max (i32.const 0))
    (global.set $str (i32.const 0))
    (global.set $esc (i32.const 0)))

  ;; memory[$i, $end) one byte at a time: the exact depth.
  (func $bytes (param $i i32) (param $end i32)
    (local $b i32)
    (block $done (loop $byte
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $b (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (global.get $esc)
        (then (global.set $esc (i32.const 0)) (br $byte)))
      (if (global.get $str)
        (then
          (if (i32.eq (local.get $b) (i32.const 92)) (then (global.set $esc (i32.const 1))))  ;; \
          (if (i32.eq (local.get $b) (i32.const 34)) (then (global.set $str (i32.const 0))))  ;; "
          (br $byte)))
      (if (i32.eq (local.get $b) (i32.const 34)) (then (global.set $str (i32.const 1)) (br $byte)))
      (if (i32.or (i32.eq (local.get $b) (i32.const 123)) (i32.eq (local.get $b) (i32.const 91)))  ;; { [
        (then
          (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
          (if (i32.gt_s (global.get $depth) (global.get $max)) (then (global.set $max (global.get $depth))))
          (br $byte)))
      (if (i32.or (i32.eq (local.get $b) (i32.const 125)) (i32.eq (local.get $b) (i32.const 93)))  ;; } ]
        (then (global.set $depth (i32.sub (global.get $depth) (i32.const 1)))))
      (br $byte))))

  (func (export "bound") (param $len i32) (result i32)
    (local $i i32) (local $end i32) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $s i64) (local $out i64) (local $d i32)
    (local.set $end (i32.and (local.get $len) (i32.const -64)))
    (block $done (loop $step
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $v0 (v128.load offset=0 (local.get $i)))
      (local.set $v1 (v128.load offset=16 (local.get $i)))
      (local.set $v2 (v128.load offset=32 (local.get $i)))
      (local.set $v3 (v128.load offset=48 (local.get $i)))
      (if (i32.or (global.get $esc) (v128.any_true (v128.or
            (v128.or (i8x16.eq (local.get $v0) (i8x16.splat (i32.const 92))) (i8x16.eq (local.get $v1) (i8x16.splat (i32.const 92))))
            (v128.or (i8x16.eq (local.get $v2) (i8x16.splat (i32.const 92))) (i8x16.eq (local.get $v3) (i8x16.splat (i32.const 92)))))))
        (then (call $bytes (local.get $i) (i32.add (local.get $i) (i32.const 64))))
        (else
          ;; quote bits -> in-string bits (prefix XOR), flipped when the step starts in a string
          (local.set $s (i64.or (i64.or
            (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v0) (i8x16.splat (i32.const 34)))))
            (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v1) (i8x16.splat (i32.const 34))))) (i64.const 16)))
            (i64.or
            (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v2) (i8x16.splat (i32.const 34))))) (i64.const 32))
            (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v3) (i8x16.splat (i32.const 34))))) (i64.const 48)))))
          (local.set $s (i64.xor (local.get $s) (i64.shl (local.get $s) (i64.const 1))))
          (local.set $s (i64.xor (local.get $s) (i64.shl (local.get $s) (i64.const 2))))
          (local.set $s (i64.xor (local.get $s) (i64.shl (local.get $s) (i64.const 4))))
          (local.set $s (i64.xor (local.get $s) (i64.shl (local.get $s) (i64.const 8))))
          (local.set $s (i64.xor (local.get $s) (i64.shl (local.get $s) (i64.const 16))))
          (local.set $s (i64.xor (local.get $s) (i64.shl (local.get $s) (i64.const 32))))
          (local.set $s (i64.xor (local.get $s) (i64.extend_i32_s (i32.sub (i32.const 0) (global.get $str)))))
          (local.set $out (i64.xor (local.get $s) (i64.const -1)))
          ;; the depth at the step's start plus its openers outside strings
          (local.set $d (i32.add (global.get $depth) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $out)
            (i64.or (i64.or
            (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v0) (i8x16.splat (i32.const 123))) (i8x16.eq (local.get $v0) (i8x16.splat (i32.const 91))))))
            (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v1) (i8x16.splat (i32.const 123))) (i8x16.eq (local.get $v1) (i8x16.splat (i32.const 91)))))) (i64.const 16)))
            (i64.or
            (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v2) (i8x16.splat (i32.const 123))) (i8x16.eq (local.get $v2) (i8x16.splat (i32.const 91)))))) (i64.const 32))
            (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v3) (i8x16.splat (i32.const 123))) (i8x16.eq (local.get $v3) (i8x16.splat (i32.const 91)))))) (i64.const 48)))))))))
          (if (i32.gt_s (local.get $d) (global.get $max)) (then (global.set $max (local.get $d))))
          ;; minus its closers outside strings: the depth at its end
          (global.set $depth (i32.sub (local.get $d) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $out)
            (i64.or (i64.or
            (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v0) (i8x16.splat (i32.const 125))) (i8x16.eq (local.get $v0) (i8x16.splat (i32.const 93))))))
            (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v1) (i8x16.splat (i32.const 125))) (i8x16.eq (local.get $v1) (i8x16.splat (i32.const 93)))))) (i64.const 16)))
            (i64.or
            (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v2) (i8x16.splat (i32.const 125))) (i8x16.eq (local.get $v2) (i8x16.splat (i32.const 93)))))) (i64.const 32))
            (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v3) (i8x16.splat (i32.const 125))) (i8x16.eq (local.get $v3) (i8x16.splat (i32.const 93)))))) (i64.const 48)))))))))
          (global.set $str (i32.wrap_i64 (i64.shr_u (local.get $s) (i64.const 63))))))
      (local.set $i (i32.add (local.get $i) (i32.const 64)))
      (br $step)))
    (call $bytes (local.get $i) (local.get $len))
    (global.get $max)))
