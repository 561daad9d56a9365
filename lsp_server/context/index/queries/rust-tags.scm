; Rust tags. Definitions capture the whole item as @definition.<kind>; the engine reads its
; name from the item's `name` field (`type` for impl blocks). References capture the identifier
; itself as @reference.<kind>. Imports (`use`, `mod`) are captured whole as @import.
; Kept lean on purpose: no predicates, one capture per pattern.

(function_item) @definition.function
(function_signature_item) @definition.function
(struct_item) @definition.struct
(enum_item) @definition.enum
(union_item) @definition.union
(trait_item) @definition.trait
(impl_item) @definition.impl
(mod_item) @definition.module
(const_item) @definition.const
(static_item) @definition.static
(type_item) @definition.type
(associated_type) @definition.type
(macro_definition) @definition.macro
(enum_variant) @definition.variant

(call_expression function: (identifier) @reference.call)
(call_expression function: (field_expression field: (field_identifier) @reference.call))
(call_expression function: (scoped_identifier name: (identifier) @reference.call))
(generic_function function: (identifier) @reference.call)
(generic_function function: (field_expression field: (field_identifier) @reference.call))
(generic_function function: (scoped_identifier name: (identifier) @reference.call))
(macro_invocation macro: (identifier) @reference.macro)
(macro_invocation macro: (scoped_identifier name: (identifier) @reference.macro))
; Calls inside macro arguments (assert_eq!(area(1.0), 2.0), vec![Circle::new(r)]): the arguments
; are bare tokens, so a name right before a token tree counts as a call (also `Point { .. }` and
; `v[0]`: close enough to list callers, too loose to weigh the graph, which skips this kind).
(token_tree (identifier) @reference.call_in_macro . (token_tree))
(type_identifier) @reference.type
(scoped_identifier path: (identifier) @reference.path)
(scoped_type_identifier path: (identifier) @reference.path)

(use_declaration) @import

(ERROR) @error

; Macro bodies in item position (cfg_rt! { pub mod runtime; ... }) are re-parsed as items.
(source_file (macro_invocation (token_tree) @macro))
(declaration_list (macro_invocation (token_tree) @macro))
