/* What tree-sitter alone costs on a list of Rust files: parse, then optionally run a query
 * cursor over each tree, with no Python and nothing stored. Built and run by parse_floor.py
 * against the tree-sitter runtime and grammar versions the project installs.
 *
 *     parse_floor QUERY_FILE MODE < file-list     (MODE 0: parse only; 1: parse + query)
 *
 * Prints one JSON line: files, captures, parse and query seconds (CPU spent in each step).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tree_sitter/api.h"

const TSLanguage *tree_sitter_rust(void);

static char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    rewind(f);
    char *buf = malloc(*len + 1);
    if (buf && fread(buf, 1, *len, f) != (size_t)*len) { free(buf); buf = NULL; }
    fclose(f);
    return buf;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s QUERY_FILE MODE < file-list\n", argv[0]); return 2; }
    long qlen;
    char *qsrc = slurp(argv[1], &qlen);
    if (!qsrc) { fprintf(stderr, "cannot read %s\n", argv[1]); return 2; }
    int with_query = atoi(argv[2]);
    uint32_t err_offset;
    TSQueryError err_type;
    TSQuery *query = ts_query_new(tree_sitter_rust(), qsrc, (uint32_t)qlen, &err_offset, &err_type);
    if (!query) { fprintf(stderr, "query error %d at byte %u\n", (int)err_type, err_offset); return 2; }
    TSParser *parser = ts_parser_new();
    ts_parser_set_language(parser, tree_sitter_rust());
    TSQueryCursor *cursor = ts_query_cursor_new();
    char line[8192];
    long files = 0, captures = 0;
    unsigned long checksum = 0;
    double parse_s = 0, query_s = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        long len;
        char *src = slurp(line, &len);
        if (!src) continue;
        files++;
        double t0 = now();
        TSTree *tree = ts_parser_parse_string(parser, NULL, src, (uint32_t)len);
        double t1 = now();
        parse_s += t1 - t0;
        if (with_query) {
            ts_query_cursor_exec(cursor, query, ts_tree_root_node(tree));
            TSQueryMatch match;
            uint32_t index;
            while (ts_query_cursor_next_capture(cursor, &match, &index)) {
                captures++;
                checksum += ts_node_start_byte(match.captures[index].node);  /* read each capture */
            }
            query_s += now() - t1;
        }
        ts_tree_delete(tree);
        free(src);
    }
    printf("{\"files\": %ld, \"captures\": %ld, \"checksum\": %lu, \"parse\": %.4f, \"query\": %.4f}\n",
           files, captures, checksum, parse_s, query_s);
    return 0;
}
