;; fsprobe: a WASI command for the escape tests. Its first preopened directory
;; is fd 3. Usage: fsprobe OP PATH [ARG]
;;   r PATH          print the file (following symlinks)
;;   w PATH TEXT     create or truncate PATH and write TEXT
;;   l PATH TARGET   create a symlink PATH -> TARGET
;; The exit status is the WASI errno of the first failing call (0 on success).
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1 1)
  (func $strlen (param $p i32) (result i32) (local $n i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $n))
  (func $arg (param $i i32) (result i32)
    (i32.load (i32.add (i32.const 1024) (i32.mul (local.get $i) (i32.const 4)))))
  (func $check (param $e i32)
    (if (local.get $e) (then (call $proc_exit (local.get $e)))))
  (func (export "_start") (local $op i32) (local $path i32) (local $fd i32) (local $n i32)
    (call $check (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 3)) (then (call $proc_exit (i32.const 100))))
    (if (i32.gt_u (i32.load (i32.const 4)) (i32.const 4096)) (then (call $proc_exit (i32.const 101))))
    (call $check (call $args_get (i32.const 1024) (i32.const 2048)))
    (local.set $op (i32.load8_u (call $arg (i32.const 1))))
    (local.set $path (call $arg (i32.const 2)))
    (if (i32.eq (local.get $op) (i32.const 108)) ;; 'l'
      (then
        (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 4)) (then (call $proc_exit (i32.const 100))))
        (call $proc_exit
          (call $path_symlink
            (call $arg (i32.const 3)) (call $strlen (call $arg (i32.const 3)))
            (i32.const 3) (local.get $path) (call $strlen (local.get $path))))))
    (if (i32.eq (local.get $op) (i32.const 119)) ;; 'w'
      (then
        (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 4)) (then (call $proc_exit (i32.const 100))))
        (call $check
          (call $path_open (i32.const 3) (i32.const 0) (local.get $path) (call $strlen (local.get $path))
            (i32.const 9) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 12)))
        (i32.store (i32.const 16) (call $arg (i32.const 3)))
        (i32.store (i32.const 20) (call $strlen (call $arg (i32.const 3))))
        (call $check (call $fd_write (i32.load (i32.const 12)) (i32.const 16) (i32.const 1) (i32.const 8)))
        (call $proc_exit (i32.const 0))))
    (call $check
      (call $path_open (i32.const 3) (i32.const 1) (local.get $path) (call $strlen (local.get $path))
        (i32.const 0) (i64.const 6) (i64.const 6) (i32.const 0) (i32.const 12))) ;; fd_read|fd_seek
    (local.set $fd (i32.load (i32.const 12)))
    (block $eof
      (loop $rd
        (i32.store (i32.const 16) (i32.const 8192))
        (i32.store (i32.const 20) (i32.const 32768))
        (call $check (call $fd_read (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 8)))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $eof (i32.eqz (local.get $n)))
        (i32.store (i32.const 20) (local.get $n))
        (call $check (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
        (br $rd)))))
