// Reliable targets' retention, the addon's copy (assembly/retain.ts is the dgram sender's; the two
// take the same steps in the same memory, and test/retain-native.test.ts compares them byte for
// byte). The sender thread calls Range() for the slots it is done with, before it publishes
// RING_TAIL past them: a reliable target's datagrams are copied into its region, reassembled when
// fragmented, and the oldest entries pushed out. See retain.ts for the region's format.
#pragma once

#include <cstdint>
#include <functional>

#include "common.h"

namespace nc {

// The offsets and constants retention needs (assembly/layout.ts, by name).
struct RetainLayout {
  uint32_t reliableTargets, ringOff, ringSize, targetsOff, targetSize;
  uint32_t slotLen, slotTarget, slotKind, slotGen, slotHdr, kindMask, kindPad, kindFrame;
  uint32_t tgtFlags, tgtGen, tgtRelLen, tgtAddr, addrFamily, fReliable, fRelease;
  uint32_t rtBase, rtSize, rtSlots, rtCount, rtHead, rtTail, rtAcked, rtHeard, rtPushed, cntUnheard;
  uint32_t entryLen, entryPrefix, entrySeq, entryHdr, entryPad;
  uint32_t ethHlen, ipv4Hlen, ipv6Hlen, udpHlen;

  // Fills every field from `get(name)` (the host's layout table).
  static RetainLayout From(const std::function<uint32_t(const char*)>& get);
};

class Retainer {
 public:
  // `mem` is the shared memory; `memMax` the bytes it can ever have (its maximum: a region the
  // host placed past it is refused, not written).
  Retainer(uint8_t* mem, uint64_t memMax, const RetainLayout& lay) : mem_(mem), memMax_(memMax), lay_(lay) {}

  // The slots in [from, to) are done (sent or lost): keeps reliable targets' datagrams among them.
  void Range(uint64_t from, uint64_t to);

 private:
  struct Parsed {
    uint64_t seq = 0;
    int prefix = 0;  // bytes of "[release,]header"
    int data = 0;    // where the data starts (past the ';')
    int off = 0;     // a fragment: its data's offset in the message, and the message's length
    int total = -1;  // -1: a whole message
  };
  static bool Parse(const uint8_t* p, int n, int relLen, Parsed* d);
  void Datagram(int t, uint8_t* tp, const uint8_t* p, int n);
  uint8_t* Begin(uint8_t* tp, uint64_t seq, uint32_t prefixLen, uint32_t msgLen);
  void End(uint8_t* tp);
  void PopOldest(uint8_t* tp, uint8_t* ring, uint64_t size);

  uint8_t* mem_;
  uint64_t memMax_;
  RetainLayout lay_;
  // The entry being written (retain.ts eHead ..): where it ends; a fragmented message's target,
  // seq, where its data goes, how much came, and its length.
  uint64_t eHead_ = 0;
  int eTarget_ = -1;
  uint64_t eSeq_ = 0;
  uint8_t* eData_ = nullptr;
  int eFilled_ = 0;
  int eTotal_ = 0;
};

}  // namespace nc
