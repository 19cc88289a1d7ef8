"""Images and voice in questions: near-duplicate image ids and local transcription.

``MediaResolver`` turns a message with image or audio parts into the text the match decision
compares and the scope that must agree exactly (docs/media.md). Pillow (extra ``[image]``) and
faster-whisper with the bundled Whisper tiny.en (extra ``[voice]``) are imported only when such a
part arrives; without them those requests bypass the cache with the reason.
"""

from ._image import BITS, MAX_DISTANCE, ImageDecodeError, ImageFingerprint, ImageRegistry, fingerprint
from ._parts import AudioPart, ImagePart, MediaContent, UnsupportedPart, split_content
from ._resolve import MediaPolicy, MediaResolver, Resolved
from ._transcript import normalise_transcript
from ._voice import Transcriber, Transcript, TranscriptionError, WhisperTranscriber, default_model_dir

__all__ = [
    "BITS",
    "MAX_DISTANCE",
    "AudioPart",
    "ImageDecodeError",
    "ImageFingerprint",
    "ImagePart",
    "ImageRegistry",
    "MediaContent",
    "MediaPolicy",
    "MediaResolver",
    "Resolved",
    "Transcriber",
    "Transcript",
    "TranscriptionError",
    "UnsupportedPart",
    "WhisperTranscriber",
    "default_model_dir",
    "fingerprint",
    "normalise_transcript",
    "split_content",
]
