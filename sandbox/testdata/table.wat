;; table: declares a table with no maximum, which the sandbox refuses (wazero
;; would let table.grow allocate up to 32 GiB outside the memory limit).
(module
  (table 1 funcref)
  (memory (export "memory") 1 1)
  (func (export "_start")))
