// SPDX-License-Identifier: GPL-2.0
/*
 * json_str() against jq: every byte value from 1 to 255 inside a string must
 * come back from a real JSON parser as the same bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../netsvcctl.h"

bool json;
const char *prog = "json_test";

static int passed, failed;

static void check(const char *name, const char *in)
{
	char path[] = "/tmp/netsvc-json-XXXXXX", cmd[256], out[1024] = "";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w"), *p;
	size_t n;

	json_str(f, in);
	fputc('\n', f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "jq -j . %s", path);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	if (pclose(p) == 0 && !strcmp(out, in)) {
		printf("PASS json-%s\n", name);
		passed++;
	} else {
		printf("FAIL json-%s: jq read back '%s'\n", name, out);
		failed++;
	}
	unlink(path);
}

int main(void)
{
	char all[256];
	int i;

	for (i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	all[127] = 0;
	check("ascii-all", all);
	check("quotes", "flow0 rx tcp \"10.0.0.1\\\":80");
	check("utf8", "vif\xc3\xa9\xe2\x82\xac");
	check("empty", "");
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
