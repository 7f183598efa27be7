// The failure converter of every ks-onboard client and worker when payloads are encrypted: a failure's message and
// stack travel encoded (through the payload codec) like any payload, since a message may name a person's email.
// CommonJS, outside src/: Temporal loads it by path with require(), and bundles it into the workflow code.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
