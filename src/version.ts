/** Kept equal to package.json's version (a unit test checks it) so startup needs no file read. */
export const VERSION = '0.1.0';
export const SERVER_NAME = 'docker-image-builder';
