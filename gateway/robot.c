/*
 * robot.c - a WeChat Work robot message and the robot's answer: content
 * cut on a character boundary, the JSON bodies, errcode to what to do.
 * Sending, retries and the budget are elsewhere.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "robot.h"
#include "util.h"

#define ELLIPSIS     "\xe2\x80\xa6" /* U+2026 */
#define ELLIPSIS_LEN 3

#define ERRCODE_OK          0
#define ERRCODE_BUSY        (-1)
#define ERRCODE_TOO_OFTEN   45009
#define ERRCODE_INVALID_KEY 93000

size_t
robot_cut(const char *s, size_t max, char *out, size_t size)
{
	size_t len = strlen(s), limit, room, i = 0, o = 0, k;

	if (size == 0)
		return 0;
	limit = max < size - 1 ? max : size - 1;
	/* Every byte stays one byte ('?' for a bad one): len is the length. */
	room = len <= limit       ? limit :
	    limit >= ELLIPSIS_LEN ? limit - ELLIPSIS_LEN :
	                            limit;
	while (i < len) {
		k = utf8_char(s + i, len - i);
		if (o + (k ? k : 1) > room)
			break;
		if (k == 0) {
			out[o++] = '?';
			i++;
		} else {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		}
	}
	if (i < len && limit >= ELLIPSIS_LEN) {
		memcpy(out + o, ELLIPSIS, ELLIPSIS_LEN);
		o += ELLIPSIS_LEN;
	}
	out[o] = '\0';
	return o;
}

/* {"msgtype":type,type:{"content":content cut to max}} with its object
 * in *inner, or NULL. */
static json_t *
message(const char *type, const char *content, size_t max, json_t **inner)
{
	char cut[ROBOT_MARKDOWN_MAX + 1];
	json_t *root = json_object();

	*inner = json_object();
	robot_cut(content, max, cut, sizeof(cut));
	if (root == NULL || *inner == NULL ||
	    json_object_set_new(root, "msgtype", json_string(type)) != 0 ||
	    json_object_set_new(*inner, "content", json_string(cut)) != 0 ||
	    json_object_set(root, type, *inner) != 0) {
		json_decref(root);
		json_decref(*inner);
		return NULL;
	}
	json_decref(*inner); /* root holds it */
	return root;
}

static char *
dump(json_t *root)
{
	char *s;

	if (root == NULL)
		return NULL;
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

char *
robot_markdown(const char *content)
{
	json_t *inner;

	return dump(message("markdown", content, ROBOT_MARKDOWN_MAX, &inner));
}

char *
robot_text(const char *content, const char *const *mobiles, size_t n)
{
	json_t *inner, *list, *root;
	size_t i;

	root = message("text", content, ROBOT_TEXT_MAX, &inner);
	if (root == NULL)
		return NULL;
	list = json_array();
	if (list == NULL ||
	    json_object_set_new(inner, "mentioned_mobile_list", list) != 0) {
		json_decref(root);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		/* One bad entry must not keep the others from being rung. */
		if (mobiles[i] == NULL || mobiles[i][0] == '\0' ||
		    !utf8_valid(mobiles[i], strlen(mobiles[i])))
			continue;
		if (json_array_append_new(list, json_string(mobiles[i])) != 0) {
			json_decref(root);
			return NULL;
		}
	}
	return dump(root);
}

/*
 * errmsg is for people and has said "ok" beside an error code: only the
 * integer errcode decides.  A key given twice is an answer two parsers
 * would read two ways, so it is no answer.
 */
enum robot_answer
robot_answer(const char *body, size_t len, long long *errcode)
{
	json_error_t err;
	json_t *root, *code;
	enum robot_answer a = ROBOT_ERROR;
	long long c;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL)
		return ROBOT_ERROR;
	code = json_object_get(root, "errcode");
	if (json_is_object(root) && json_is_integer(code)) {
		c = json_integer_value(code);
		if (errcode)
			*errcode = c;
		if (c == ERRCODE_OK)
			a = ROBOT_OK;
		else if (c == ERRCODE_TOO_OFTEN || c == ERRCODE_BUSY)
			a = ROBOT_RETRY;
		else if (c == ERRCODE_INVALID_KEY)
			a = ROBOT_STOPPED;
	}
	json_decref(root);
	return a;
}
