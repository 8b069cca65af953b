/* registry/s3: the XML answers read by expat (ListObjectsV2 pages, errors,
 * multipart and copy results), and what a hostile or broken store may
 * send instead. */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdlib.h>

#include "registry/s3/s3-internal.h"

#define NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define X(s) (s), strlen(s)

static void
list_page(void **state)
{
        const char *doc =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            "<ListBucketResult " NS "><Name>b</Name><Prefix>prod/</Prefix>"
            "<MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
            "<NextContinuationToken>tok/en+1=</NextContinuationToken>"
            "<Contents><Key>prod/a&amp;b</Key><LastModified>2013-05-24T00:00:00.000Z</LastModified>"
            "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>3191</Size>"
            "<StorageClass>STANDARD</StorageClass><Owner><ID>x</ID><Key>not-a-key</Key></Owner></Contents>"
            "<Contents><Size>0</Size><Key>prod/c</Key></Contents>"
            "<CommonPrefixes><Prefix>prod/dir/</Prefix></CommonPrefixes>"
            "<KeyCount>2</KeyCount></ListBucketResult>";
        struct s3_list_page *p = NULL;

        assert_ok(s3_xml_list(X(doc), "prod/", &p, err));
        assert_int_equal(p->n_keys, 2);
        assert_string_equal(p->keys[0].key, "a&b");
        assert_int_equal(p->keys[0].size, 3191);
        assert_int_equal(p->keys[0].mtime, 1369353600);
        assert_string_equal(p->keys[0].etag, "9b2cf535f27731c974343645a3985328");
        assert_string_equal(p->keys[1].key, "c");
        assert_int_equal(p->keys[1].size, 0);
        assert_string_equal(p->keys[1].etag, "");
        assert_int_equal(p->n_prefixes, 1);
        assert_string_equal(p->prefixes[0], "dir/");
        assert_true(p->truncated);
        assert_string_equal(p->next_token, "tok/en+1=");
        s3_list_page_free(p);
}

static void
list_last_page_and_empty(void **state)
{
        /* RGW's empty answer, no namespace prefix games: not truncated, no
         * token even if one is sent. */
        const char *doc = "<ListBucketResult " NS "><Name>b</Name><IsTruncated>false</IsTruncated>"
                          "<NextContinuationToken>stale</NextContinuationToken></ListBucketResult>";
        struct s3_list_page *p = NULL;

        assert_ok(s3_xml_list(X(doc), "", &p, err));
        assert_int_equal(p->n_keys, 0);
        assert_int_equal(p->n_prefixes, 0);
        assert_false(p->truncated);
        assert_null(p->next_token);
        s3_list_page_free(p);
}

static void
list_hostile(void **state)
{
        struct s3_list_page *p = NULL;

        assert_fails(
            s3_xml_list(X("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"), "", &p, err), EPROTO,
            "NextContinuationToken", NULL);
        assert_fails(s3_xml_list(X("<ListBucketResult><Contents><Key>other/x</Key></Contents></ListBucketResult>"),
                                 "prod/", &p, err),
                     EPROTO, "outside the prefix", NULL);
        assert_fails(
            s3_xml_list(X("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>"), "", &p, err),
            EPROTO, "without <Key>", NULL);
        assert_fails(s3_xml_list(X("<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents>"
                                   "</ListBucketResult>"),
                                 "", &p, err),
                     EPROTO, "not a number", NULL);
        assert_fails(s3_xml_list(X("<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999</Size>"
                                   "</Contents></ListBucketResult>"),
                                 "", &p, err),
                     EPROTO, "not a number", NULL);
        assert_fails(s3_xml_list(X("<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>"), "", &p, err),
                     EPROTO, "IsTruncated", NULL);
        assert_fails(s3_xml_list(X("<ListAllMyBucketsResult/>"), "", &p, err), EPROTO, "<ListAllMyBucketsResult>",
                     NULL);
        /* Not XML, cut short, HTML from a proxy, nothing at all. */
        assert_fails(s3_xml_list(X("<ListBucketResult><Contents><Key>a</Ke"), "", &p, err), EPROTO, "malformed", NULL);
        assert_fails(s3_xml_list(X("<html><body>502 Bad Gateway</body>"), "", &p, err), EPROTO, "malformed", NULL);
        assert_fails(s3_xml_list("", 0, "", &p, err), EPROTO, "malformed", NULL);
        assert_fails(s3_xml_list(X("\x00\x01\x02garbage"), "", &p, err), EPROTO, "malformed", NULL);
        assert_null(p);
}

static void
hostile_structure(void **state)
{
        struct s3_list_page *p = NULL;
        _cleanup_free_ char *deep = xcalloc(1, 64 * 8 + 64), *longtext = xcalloc(1, S3_XML_TEXT_MAX + 128);
        char *o = deep;

        /* A DTD (entity expansion: "billion laughs", external entities). */
        assert_fails(s3_xml_list(X("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b "
                                   "\"&a;&a;&a;&a;\">]><ListBucketResult><Name>&b;</Name></ListBucketResult>"),
                                 "", &p, err),
                     EPROTO, "DTD", NULL);
        assert_fails(s3_xml_list(X("<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><ListBucketResult/>"), "", &p, err),
                     EPROTO, "DTD", NULL);
        /* Too deep. */
        o += sprintf(o, "<ListBucketResult>");
        for (int i = 0; i < 40; i++)
                o += sprintf(o, "<a>");
        assert_fails(s3_xml_list(deep, strlen(deep), "", &p, err), EPROTO, "deeper", NULL);
        /* A text over the cap. */
        o = longtext;
        o += sprintf(o, "<ListBucketResult><Contents><Key>");
        memset(o, 'k', S3_XML_TEXT_MAX + 1);
        o += S3_XML_TEXT_MAX + 1;
        sprintf(o, "</Key></Contents></ListBucketResult>");
        assert_fails(s3_xml_list(longtext, strlen(longtext), "", &p, err), EPROTO, "longer than", NULL);
        assert_null(p);
}

static void
errors(void **state)
{
        struct s3_xml_error e;
        const char *doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>"
                          "<Message>The specified key does not exist.</Message><Key>a/b</Key>"
                          "<RequestId>tx1</RequestId></Error>";

        assert_ok(s3_xml_error(X(doc), &e, err));
        assert_string_equal(e.code, "NoSuchKey");
        assert_string_equal(e.message, "The specified key does not exist.");
        /* RGW's shape: Code and more, no Message. */
        assert_ok(
            s3_xml_error(X("<Error><Code>SignatureDoesNotMatch</Code><BucketName>b</BucketName></Error>"), &e, err));
        assert_string_equal(e.code, "SignatureDoesNotMatch");
        assert_string_equal(e.message, "");
        /* Another root: not an error document (no message set). */
        {
                struct err *x = NULL;
                assert_int_equal(s3_xml_error(X("<CopyObjectResult><ETag>x</ETag></CopyObjectResult>"), &e, &x),
                                 -ENOMSG);
                assert_null(x);
        }
        assert_fails(s3_xml_error(X("<Error><Code>x</Code>"), &e, err), EPROTO, "malformed", NULL);
        /* A long message is cut, never overflows. */
        {
                char big[2048];
                int n = sprintf(big, "<Error><Code>");
                memset(big + n, 'c', 600);
                n += 600;
                n += sprintf(big + n, "</Code><Message>");
                memset(big + n, 'm', 1000);
                n += 1000;
                sprintf(big + n, "</Message></Error>");
                assert_ok(s3_xml_error(X(big), &e, err));
                assert_int_equal(strlen(e.code), sizeof(e.code) - 1);
                assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
        }
}

static void
multipart_answers(void **state)
{
        _cleanup_free_ char *id = NULL, *etag = NULL, *etag2 = NULL, *etag3 = NULL;

        assert_ok(s3_xml_initiate(X("<InitiateMultipartUploadResult " NS "><Bucket>b</Bucket><Key>k</Key>"
                                    "<UploadId>2~abc.DEF</UploadId></InitiateMultipartUploadResult>"),
                                  &id, err));
        assert_string_equal(id, "2~abc.DEF");
        assert_fails(s3_xml_initiate(X("<InitiateMultipartUploadResult><UploadId></UploadId>"
                                       "</InitiateMultipartUploadResult>"),
                                     &id, err),
                     EPROTO, "no UploadId", NULL);
        assert_fails(s3_xml_initiate(X("<Error><Code>AccessDenied</Code></Error>"), &id, err), EPROTO, "<Error>", NULL);
        /* RGW: an empty ETag. */
        assert_ok(s3_xml_complete(X("<CompleteMultipartUploadResult " NS "><Location>l</Location><Bucket>b</Bucket>"
                                    "<Key>k</Key><ETag></ETag></CompleteMultipartUploadResult>"),
                                  &etag, err));
        assert_string_equal(etag, "");
        assert_ok(s3_xml_complete(X("<CompleteMultipartUploadResult><Key>k</Key></CompleteMultipartUploadResult>"),
                                  &etag2, err));
        assert_string_equal(etag2, "");
        assert_ok(s3_xml_complete(X("<CompleteMultipartUploadResult><ETag>\"3858f62230ac3c915f300c664312c11f-9\""
                                    "</ETag></CompleteMultipartUploadResult>"),
                                  &etag3, err));
        assert_string_equal(etag3, "3858f62230ac3c915f300c664312c11f-9");
}

static void
copy_answers(void **state)
{
        char etag[80];
        time_t m = 0;

        assert_ok(s3_xml_copy(X("<CopyObjectResult><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
                                "<ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></CopyObjectResult>"),
                              etag, &m, err));
        assert_string_equal(etag, "9b2cf535f27731c974343645a3985328");
        assert_int_equal(m, 1255369830);
        assert_ok(s3_xml_copy(X("<CopyPartResult><ETag>&quot;e&quot;</ETag></CopyPartResult>"), etag, NULL, err));
        assert_string_equal(etag, "e");
        assert_fails(s3_xml_copy(X("<CopyObjectResult></CopyObjectResult>"), etag, &m, err), EPROTO, "no ETag", NULL);
        {
                char doc[256];
                sprintf(doc, "<CopyObjectResult><ETag>%0100d</ETag></CopyObjectResult>", 0);
                assert_fails(s3_xml_copy(X(doc), etag, &m, err), EPROTO, "ETag", NULL);
        }
}

static void
parts_answers(void **state)
{
        _cleanup_free_ struct s3_part *parts = NULL;
        size_t n = 0;
        bool more;
        unsigned next;

        assert_ok(s3_xml_parts(X("<ListPartsResult><IsTruncated>true</IsTruncated>"
                                 "<NextPartNumberMarker>2</NextPartNumberMarker>"
                                 "<Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag><Size>5242880</Size></Part>"
                                 "<Part><Size>1</Size><ETag>\"b\"</ETag><PartNumber>2</PartNumber></Part>"
                                 "</ListPartsResult>"),
                               &parts, &n, &more, &next, err));
        assert_int_equal(n, 2);
        assert_true(more);
        assert_int_equal(next, 2);
        assert_int_equal(parts[0].number, 1);
        assert_string_equal(parts[0].etag, "a");
        assert_int_equal(parts[0].size, 5242880);
        assert_int_equal(parts[1].number, 2);
        /* A second page appends. */
        assert_ok(s3_xml_parts(X("<ListPartsResult><Part><PartNumber>3</PartNumber><ETag>c</ETag></Part>"
                                 "<IsTruncated>false</IsTruncated></ListPartsResult>"),
                               &parts, &n, &more, &next, err));
        assert_int_equal(n, 3);
        assert_false(more);
        assert_string_equal(parts[2].etag, "c");
        assert_fails(s3_xml_parts(X("<ListPartsResult><Part><PartNumber>0</PartNumber><ETag>c</ETag></Part>"
                                    "</ListPartsResult>"),
                                  &parts, &n, &more, &next, err),
                     EPROTO, "out of 1..10000", NULL);
        assert_fails(s3_xml_parts(X("<ListPartsResult><Part><ETag>c</ETag></Part></ListPartsResult>"), &parts, &n,
                                  &more, &next, err),
                     EPROTO, "without <PartNumber>", NULL);
        assert_fails(s3_xml_parts(X("<ListPartsResult><IsTruncated>true</IsTruncated></ListPartsResult>"), &parts, &n,
                                  &more, &next, err),
                     EPROTO, "NextPartNumberMarker", NULL);
}

static void
complete_body(void **state)
{
        struct s3_part parts[2] = {{.number = 1, .etag = "abc"}, {.number = 2, .etag = "d<&\"e"}};
        size_t len;
        _cleanup_free_ char *b = s3_xml_complete_body(parts, 2, &len);

        assert_string_equal(b, "<CompleteMultipartUpload>"
                               "<Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag></Part>"
                               "<Part><PartNumber>2</PartNumber><ETag>&quot;d&lt;&amp;&quot;e&quot;</ETag></Part>"
                               "</CompleteMultipartUpload>");
        assert_int_equal(len, strlen(b));
}

static void
dates_and_etags(void **state)
{
        char e[80];

        assert_int_equal(s3_parse_iso8601("1970-01-01T00:00:00Z"), 0);
        assert_int_equal(s3_parse_iso8601("2013-05-24T00:00:00.000Z"), 1369353600);
        assert_int_equal(s3_parse_iso8601("2013-13-24T00:00:00Z"), 0);
        assert_int_equal(s3_parse_iso8601("yesterday"), 0);
        assert_int_equal(s3_parse_iso8601(""), 0);
        assert_true(s3_etag_copy(e, "\"x\"", 3));
        assert_string_equal(e, "x");
        assert_true(s3_etag_copy(e, "\"", 1));
        assert_string_equal(e, "\"");
        assert_true(s3_etag_copy(e, "", 0));
        assert_string_equal(e, "");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(list_page),     cmocka_unit_test(list_last_page_and_empty),
            cmocka_unit_test(list_hostile),  cmocka_unit_test(hostile_structure),
            cmocka_unit_test(errors),        cmocka_unit_test(multipart_answers),
            cmocka_unit_test(copy_answers),  cmocka_unit_test(parts_answers),
            cmocka_unit_test(complete_body), cmocka_unit_test(dates_and_etags),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
