"""What every device of a fleet shares because it is expensive to make: photos, packed once, and
the people the devices enrol."""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..device.codec import EnrollRequest, pack_blob, xor_checksum
from .options import FleetOptions

PHOTO_POOL_SIZE = 32


@dataclass(frozen=True, slots=True)
class PackedPhoto:
    blob: bytes      # uint32 length + JPEG, exactly as it sits in a 848 Content
    xor: int         # checksum contribution of blob
    size: int


def pack_photo(jpeg: bytes) -> PackedPhoto:
    blob = pack_blob(jpeg)
    return PackedPhoto(blob, xor_checksum(blob), len(jpeg))


@dataclass
class FleetAssets:
    """What is expensive to make and shared by every device of a fleet: photos, a person factory."""

    punch_photos: Sequence[bytes]
    capture_photos: Sequence[bytes] = ()
    id_photos: Sequence[bytes] = ()
    # (rng, capture_photo, id_photo) -> EnrollRequest
    person_factory: Callable[[random.Random, bytes, bytes], EnrollRequest] | None = None
    _prepared: list[PackedPhoto] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.punch_photos:
            raise ValueError("a fleet needs at least one punch photo")
        self._prepared = [pack_photo(p) for p in self.punch_photos]

    @classmethod
    def generate(cls, options: FleetOptions) -> FleetAssets:
        """Real JPEGs from server.synthetic; slow (seconds), so call it once per fleet."""
        from .. import synthetic  # lazily: Pillow work only when a fleet really starts

        rng = random.Random(f"simulator-photos:{options.seed}")
        punch = synthetic.photo_pool(rng, PHOTO_POOL_SIZE, options.photo_bytes)
        capture: list[bytes] = []
        id_photos: list[bytes] = []
        if options.enroll_per_device > 0:
            # Enrollment photos keep their realistic sizes even when --photo-kb tests oversized punches.
            capture = punch[:8] if abs(options.photo_bytes - 10_000) < 1_000 else synthetic.photo_pool(rng, 8, 10_000)
            id_photos = synthetic.photo_pool(rng, 8, 8_000, size=(180, 220))
        return cls(punch, capture, id_photos, synthetic_person)

    def photo(self, i: int) -> PackedPhoto:
        return self._prepared[i % len(self._prepared)]

    def make_person(self, rng: random.Random) -> EnrollRequest:
        capture = rng.choice(self.capture_photos) if self.capture_photos else self.punch_photos[0]
        id_photo = rng.choice(self.id_photos) if self.id_photos else b""
        factory = self.person_factory or synthetic_person
        return factory(rng, capture, id_photo)


_OTHER_NATIONS = ("03", "08", "12", "13", "15", "04")  # 苗 壮 瑶 土家 侗 回 — common among migrants


def synthetic_person(rng: random.Random, capture_photo: bytes, id_photo: bytes) -> EnrollRequest:
    """A plausible ID-card reading: valid number, consistent sex and birth date, a 江门 address."""
    from .. import synthetic
    from ..domain.jobs import COUNTIES

    number = synthetic.id_number(rng, area=None)
    county = rng.choice(COUNTIES[1:])  # 市辖区 has no police bureau of its own
    issued = rng.randint(2012, 2024)
    authority = f"{county}公安局" if county.endswith("市") else f"江门市公安局{county.removesuffix('区')}分局"
    return EnrollRequest(
        id_number=number,
        name=synthetic.chinese_name(rng),
        sex="1" if int(number[16]) % 2 else "0",
        nation="01" if rng.random() < 0.9 else rng.choice(_OTHER_NATIONS),
        birth_date=number[6:14],
        address=synthetic.address(rng, county),
        authority=authority,
        validity=f"{issued}.03.01-{issued + 20}.03.01",
        id_photo=id_photo,
        capture_photo=capture_photo,
    )
