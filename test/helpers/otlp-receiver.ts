// The receiver lives with the lab (its trace viewer); the tests use the same one.
export {
  type ReceivedSpan,
  SPAN_KIND,
  startOtlpReceiver,
} from '../../scripts/lab/otlp-receiver.ts';
