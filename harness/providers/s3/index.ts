/** Object storage for the live stack: S3 (s3rver, LocalStack, external) and fileserved, behind one `ObjectStore`. See README.md. */
export { S3Provider, settleS3Options, DEFAULT_BUCKET, DEFAULT_REGION, type S3ProviderOptions, type SettledS3Options } from './s3-provider.ts';
export { StartedS3, type S3Connection, type S3Credentials } from './started-s3.ts';
export { parseS3Url, s3UrlFromEnv, bucketNameProblem, S3_URL_EXAMPLE, type S3Url } from './s3-url.ts';
export { FileservedProvider, settleFileservedOptions, parseFileservedUrl, FILESERVED_URL_EXAMPLE, type FileservedProviderOptions, type SettledFileservedOptions } from './fileserved-provider.ts';
export { StartedFileserved } from './started-fileserved.ts';
export { S3ObjectStore } from './s3-object-store.ts';
export { FileservedObjectStore } from './fileserved-object-store.ts';
export { ObjectStoreError, checkKey, checkPrefix, compareKeys, MAX_KEY_BYTES, type ObjectBody, type ObjectStore, type ObjectStoreErrorCode, type ObjectSummary, type ObjectTags, type StoredObject } from './object-store.ts';
export { storageLayout, keyFor, tagsFor, OBJECT_KINDS, AUDIT_LOG_FOLDER, type BuildRef, type KeyArgs, type ObjectKind, type StorageLayout } from './storage-layout.ts';
