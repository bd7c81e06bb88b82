// The addon's retention (retain.h): assembly/retain.ts step for step, on the sender thread.
#include "retain.h"

#include <string.h>

namespace nc {

namespace {

template <typename T>
T Ld(const uint8_t* p) {
  T v;
  memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
void St(uint8_t* p, T v) {
  memcpy(p, &v, sizeof v);
}
template <typename T>
T LdA(uint8_t* p) {
  return __atomic_load_n(reinterpret_cast<T*>(p), __ATOMIC_SEQ_CST);
}
template <typename T>
void StA(uint8_t* p, T v) {
  __atomic_store_n(reinterpret_cast<T*>(p), v, __ATOMIC_SEQ_CST);
}
void AddA(uint8_t* p, uint64_t n) { __atomic_add_fetch(reinterpret_cast<uint64_t*>(p), n, __ATOMIC_SEQ_CST); }

bool IsDigit(uint8_t c) { return static_cast<uint8_t>(c - '0') < 10; }

uint64_t EntryBytes(uint32_t msgLen, uint32_t hdr) { return (static_cast<uint64_t>(hdr) + msgLen + 7) & ~uint64_t{7}; }

}  // namespace

RetainLayout RetainLayout::From(const std::function<uint32_t(const char*)>& get) {
  RetainLayout l;
  l.reliableTargets = get("RELIABLE_TARGETS");
  l.ringOff = get("RING_OFF");
  l.ringSize = get("ringSize");
  l.targetsOff = get("TARGETS_OFF");
  l.targetSize = get("TARGET_SIZE");
  l.slotLen = get("SLOT_LEN");
  l.slotTarget = get("SLOT_TARGET");
  l.slotKind = get("SLOT_KIND");
  l.slotGen = get("SLOT_GEN");
  l.slotHdr = get("SLOT_HDR");
  l.kindMask = get("K_MASK");
  l.kindPad = get("K_PAD");
  l.kindFrame = get("K_FRAME");
  l.tgtFlags = get("TGT_FLAGS");
  l.tgtGen = get("TGT_GEN");
  l.tgtRelLen = get("TGT_REL_LEN");
  l.tgtAddr = get("TGT_ADDR");
  l.addrFamily = get("ADDR_FAMILY");
  l.fReliable = get("F_RELIABLE");
  l.fRelease = get("F_RELEASE");
  l.rtBase = get("TGT_RT_BASE");
  l.rtSize = get("TGT_RT_SIZE");
  l.rtSlots = get("TGT_RT_SLOTS");
  l.rtCount = get("TGT_RT_COUNT");
  l.rtHead = get("TGT_RT_HEAD");
  l.rtTail = get("TGT_RT_TAIL");
  l.rtAcked = get("TGT_RT_ACKED");
  l.rtHeard = get("TGT_RT_HEARD");
  l.rtPushed = get("TGT_RT_PUSHED");
  l.cntUnheard = get("TGT_CNT_UNHEARD");
  l.entryLen = get("RT_ENTRY_LEN");
  l.entryPrefix = get("RT_ENTRY_PREFIX");
  l.entrySeq = get("RT_ENTRY_SEQ");
  l.entryHdr = get("RT_ENTRY_HDR");
  l.entryPad = get("RT_PAD");
  l.ethHlen = get("ETH_HLEN");
  l.ipv4Hlen = get("IPV4_HLEN");
  l.ipv6Hlen = get("IPV6_HLEN");
  l.udpHlen = get("UDP_HLEN");
  return l;
}

void Retainer::PopOldest(uint8_t* tp, uint8_t* ring, uint64_t size) {
  uint64_t tail = Ld<uint64_t>(tp + lay_.rtTail);
  uint64_t off = tail % size;
  uint8_t* e = ring + off;
  uint32_t len = size - off < lay_.entryHdr ? lay_.entryPad : Ld<uint32_t>(e + lay_.entryLen);
  if (len == lay_.entryPad) {
    tail += size - off;
  } else {
    uint64_t seq = Ld<uint64_t>(e + lay_.entrySeq);
    if (seq >= LdA<uint64_t>(tp + lay_.rtAcked) && LdA<int32_t>(tp + lay_.rtHeard) == 0) AddA(tp + lay_.cntUnheard, 1);
    StA<uint64_t>(tp + lay_.rtPushed, seq + 1);
    tail += EntryBytes(len, lay_.entryHdr);
    StA<uint32_t>(tp + lay_.rtCount, Ld<uint32_t>(tp + lay_.rtCount) - 1);
  }
  StA<uint64_t>(tp + lay_.rtTail, tail);
}

uint8_t* Retainer::Begin(uint8_t* tp, uint64_t seq, uint32_t prefixLen, uint32_t msgLen) {
  uint64_t base = Ld<uint32_t>(tp + lay_.rtBase);
  uint64_t slots = Ld<uint32_t>(tp + lay_.rtSlots);
  uint64_t size = Ld<uint32_t>(tp + lay_.rtSize);
  uint64_t need = EntryBytes(msgLen, lay_.entryHdr);
  if (slots == 0 || size == 0 || base + slots * 8 + size > memMax_) return nullptr;  // not a region the host made
  if (need > size) {
    AddA(tp + lay_.cntUnheard, 1);
    return nullptr;
  }
  uint8_t* index = mem_ + base;
  uint8_t* ring = index + slots * 8;
  uint64_t head = Ld<uint64_t>(tp + lay_.rtHead);
  uint64_t at = 0;
  for (;;) {
    if (Ld<uint32_t>(tp + lay_.rtCount) == 0) {
      // Empty: start afresh at the head, or at the region's start when the entry would not fit.
      uint64_t off = head % size;
      if (off + need > size) head += size - off;
      StA<uint64_t>(tp + lay_.rtTail, head);
    }
    uint64_t off = head % size;
    at = off + need > size ? head + (size - off) : head;
    if (Ld<uint32_t>(tp + lay_.rtCount) < slots && at + need - Ld<uint64_t>(tp + lay_.rtTail) <= size) break;
    PopOldest(tp, ring, size);
  }
  if (at != head && size - head % size >= lay_.entryHdr)
    St<uint32_t>(ring + head % size + lay_.entryLen, lay_.entryPad);
  uint8_t* e = ring + at % size;
  St<uint32_t>(e + lay_.entryLen, msgLen);
  St<uint32_t>(e + lay_.entryPrefix, prefixLen);
  St<uint64_t>(e + lay_.entrySeq, seq);
  St<uint64_t>(index + (seq % slots) * 8, at);
  eHead_ = at + need;
  return e + lay_.entryHdr;
}

void Retainer::End(uint8_t* tp) {
  StA<uint32_t>(tp + lay_.rtCount, Ld<uint32_t>(tp + lay_.rtCount) + 1);
  StA<uint64_t>(tp + lay_.rtHead, eHead_);
}

bool Retainer::Parse(const uint8_t* p, int n, int relLen, Parsed* d) {
  int i = relLen;
  while (i < n && IsDigit(p[i])) i++;  // prio
  if (i >= n || p[i] != ',') return false;
  i++;
  uint64_t seq = 0;
  int s0 = i;
  while (i < n && IsDigit(p[i])) seq = seq * 10 + (p[i++] - '0');
  if (i == s0 || i - s0 > 20) return false;
  int semi = i;
  int comma = -1;
  while (semi < n && p[semi] != ';') {
    if (p[semi] == ',') comma = semi;
    semi++;
  }
  if (semi >= n) return false;
  d->seq = seq;
  d->data = semi + 1;
  d->total = -1;
  d->prefix = semi;
  // ",ncfrag=" off "/" total: the last field before the ';' when the message is fragmented.
  if (comma < 0 || semi - comma < 11 || memcmp(p + comma, ",ncfrag=", 8) != 0) return true;
  int k = comma + 8;
  int64_t off = 0, total = 0;
  int o0 = k;
  while (k < semi && IsDigit(p[k]) && k - o0 < 6) off = off * 10 + (p[k++] - '0');
  if (k == o0 || k >= semi || p[k] != '/') return false;
  int t0 = ++k;
  while (k < semi && IsDigit(p[k]) && k - t0 < 6) total = total * 10 + (p[k++] - '0');
  if (k != semi || k == t0 || off + (n - d->data) > total) return false;
  d->prefix = comma;
  d->off = static_cast<int>(off);
  d->total = static_cast<int>(total);
  return true;
}

void Retainer::Datagram(int t, uint8_t* tp, const uint8_t* p, int n) {
  int32_t flags = Ld<int32_t>(tp + lay_.tgtFlags);
  int relLen = (flags & lay_.fRelease) != 0 ? Ld<int32_t>(tp + lay_.tgtRelLen) + 1 : 0;
  Parsed d;
  if (!Parse(p, n, relLen, &d)) return;
  if (d.total < 0) {
    eTarget_ = -1;
    uint8_t* e = Begin(tp, d.seq, d.prefix, n);
    if (e == nullptr) return;
    memcpy(e, p, n);
    return End(tp);
  }
  if (d.off == 0) {
    eTarget_ = -1;
    uint8_t* e = Begin(tp, d.seq, d.prefix, d.prefix + 1 + d.total);
    if (e == nullptr) return;
    memcpy(e, p, d.prefix);
    e[d.prefix] = ';';
    eTarget_ = t;
    eSeq_ = d.seq;
    eData_ = e + d.prefix + 1;
    eFilled_ = 0;
    eTotal_ = d.total;
  }
  // The next fragment of the entry being written; else that entry stays unfinished (not kept).
  if (eTarget_ != t || eSeq_ != d.seq || eTotal_ != d.total || eFilled_ != d.off) {
    eTarget_ = -1;
    return;
  }
  int len = n - d.data;
  memcpy(eData_ + d.off, p + d.data, len);
  eFilled_ += len;
  if (eFilled_ < eTotal_) return;
  eTarget_ = -1;
  End(tp);
}

void Retainer::Range(uint64_t from, uint64_t to) {
  if (LdA<int32_t>(mem_ + lay_.reliableTargets) == 0) return;
  uint64_t mask = lay_.ringSize - 1;
  for (uint64_t pos = from; pos < to;) {
    uint8_t* at = mem_ + lay_.ringOff + (pos & mask);
    uint32_t len = Ld<uint32_t>(at + lay_.slotLen);
    uint16_t kind = Ld<uint16_t>(at + lay_.slotKind);
    pos += SlotBytes(len);
    if ((kind & lay_.kindMask) == lay_.kindPad) continue;
    int t = Ld<uint16_t>(at + lay_.slotTarget);
    if (t >= kMaxTargets) continue;
    uint8_t* tp = mem_ + lay_.targetsOff + static_cast<uint64_t>(t) * lay_.targetSize;
    if ((Ld<int32_t>(tp + lay_.tgtFlags) & lay_.fReliable) == 0 || Ld<uint32_t>(tp + lay_.rtBase) == 0 ||
        Ld<uint32_t>(at + lay_.slotGen) != Ld<uint32_t>(tp + lay_.tgtGen))
      continue;
    uint32_t skip = 0;
    if ((kind & lay_.kindMask) == lay_.kindFrame)
      skip = lay_.ethHlen + (tp[lay_.tgtAddr + lay_.addrFamily] == 6 ? lay_.ipv6Hlen : lay_.ipv4Hlen) + lay_.udpHlen;
    if (len > skip) Datagram(t, tp, at + lay_.slotHdr + skip, static_cast<int>(len - skip));
  }
}

}  // namespace nc
