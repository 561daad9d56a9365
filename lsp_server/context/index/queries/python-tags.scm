; Python tags. Definitions capture the whole statement as @definition.<kind>; the engine reads
; the name from the `name` field (`left` for assignments). References capture the identifier as
; @reference.<kind>. Imports are captured whole as @import. No predicates: lean and fast.

(function_definition) @definition.function
(class_definition) @definition.class
(module (expression_statement (assignment left: (identifier))) @definition.constant)
(class_definition body: (block (expression_statement (assignment left: (identifier))) @definition.attribute))

(call function: (identifier) @reference.call)
(call function: (attribute attribute: (identifier) @reference.call))
(decorator (identifier) @reference.call)
(decorator (attribute attribute: (identifier) @reference.call))
(decorator (call function: (identifier) @reference.call))
(class_definition superclasses: (argument_list (identifier) @reference.type))
(class_definition superclasses: (argument_list (attribute attribute: (identifier) @reference.type)))
(type (identifier) @reference.type)
(type (attribute attribute: (identifier) @reference.type))
(generic_type (identifier) @reference.type)
(except_clause (identifier) @reference.type)
(raise_statement (identifier) @reference.type)

(import_statement) @import
(import_from_statement) @import

(ERROR) @error
