;; loop: runs forever.
(module
  (memory (export "memory") 1 1)
  (func (export "_start")
    (loop $l (br $l))))
