/*
 * virtio-net control-plane constants (virtio.md §2.3, §6.3-§6.5).
 *
 * Feature values are bit NUMBERS, as in pymodel/features.py; bits 64..127
 * live in the second 64-bit feature word (vio_dev_ops.features word 1).
 */
#ifndef VIO_NET_DEFS_H
#define VIO_NET_DEFS_H

/* -- feature bit numbers (virtio.md §2.3) -------------------------------- */
#define VIO_NET_F_GUEST_CSUM                1u
#define VIO_NET_F_CTRL_GUEST_OFFLOADS       2u
#define VIO_NET_F_GUEST_TSO4                7u
#define VIO_NET_F_GUEST_TSO6                8u
#define VIO_NET_F_GUEST_ECN                 9u
#define VIO_NET_F_GUEST_UFO                 10u
#define VIO_NET_F_CTRL_VQ                   17u
#define VIO_NET_F_CTRL_RX                   18u
#define VIO_NET_F_CTRL_VLAN                 19u
#define VIO_NET_F_CTRL_RX_EXTRA             20u
#define VIO_NET_F_GUEST_ANNOUNCE            21u
#define VIO_NET_F_MQ                        22u
#define VIO_NET_F_CTRL_MAC_ADDR             23u
#define VIO_NET_F_VQ_NOTF_COAL              52u
#define VIO_NET_F_NOTF_COAL                 53u
#define VIO_NET_F_GUEST_USO4                54u
#define VIO_NET_F_GUEST_USO6                55u
#define VIO_NET_F_RSS                       60u
#define VIO_NET_F_GUEST_UDP_TUNNEL_GSO      65u
#define VIO_NET_F_GUEST_UDP_TUNNEL_GSO_CSUM 66u

/* -- GUEST_OFFLOADS bitmap bits (§6.4; 46/47 per §10 #10) ------------------ */
#define VIO_NET_OFFLOAD_UDP_TUNNEL_GSO      46u
#define VIO_NET_OFFLOAD_UDP_TUNNEL_GSO_CSUM 47u

/* -- config status bits (§6.3) ---------------------------------------------- */
#define VIO_NET_S_LINK_UP  0x0001u
#define VIO_NET_S_ANNOUNCE 0x0002u

/* -- control classes and commands (§6.4) ----------------------------------- */
#define VIO_NET_OK  0u
#define VIO_NET_ERR 1u

#define VIO_NET_CTRL_RX             0u
#define VIO_NET_CTRL_RX_PROMISC     0u
#define VIO_NET_CTRL_RX_ALLMULTI    1u
#define VIO_NET_CTRL_RX_ALLUNI      2u
#define VIO_NET_CTRL_RX_NOMULTI     3u
#define VIO_NET_CTRL_RX_NOUNI       4u
#define VIO_NET_CTRL_RX_NOBCAST     5u

#define VIO_NET_CTRL_MAC            1u
#define VIO_NET_CTRL_MAC_TABLE_SET  0u
#define VIO_NET_CTRL_MAC_ADDR_SET   1u

#define VIO_NET_CTRL_VLAN           2u
#define VIO_NET_CTRL_VLAN_ADD       0u
#define VIO_NET_CTRL_VLAN_DEL       1u

#define VIO_NET_CTRL_ANNOUNCE       3u
#define VIO_NET_CTRL_ANNOUNCE_ACK   0u

#define VIO_NET_CTRL_MQ             4u
#define VIO_NET_CTRL_MQ_VQ_PAIRS_SET 0u

#define VIO_NET_CTRL_GUEST_OFFLOADS     5u
#define VIO_NET_CTRL_GUEST_OFFLOADS_SET 0u

#define VIO_NET_CTRL_NOTF_COAL        6u
#define VIO_NET_CTRL_NOTF_COAL_TX_SET 0u
#define VIO_NET_CTRL_NOTF_COAL_RX_SET 1u
#define VIO_NET_CTRL_NOTF_COAL_VQ_SET 2u
#define VIO_NET_CTRL_NOTF_COAL_VQ_GET 3u

/* -- receive-mode bits handed to vio_dev_ops.set_rx_mode -------------------- *
 * Bit n is RX class command n (PROMISC..NOBCAST).                              */
#define VIO_RX_PROMISC  (1u << 0)
#define VIO_RX_ALLMULTI (1u << 1)
#define VIO_RX_ALLUNI   (1u << 2)
#define VIO_RX_NOMULTI  (1u << 3)
#define VIO_RX_NOUNI    (1u << 4)
#define VIO_RX_NOBCAST  (1u << 5)
/* Reset value (QEMU, pymodel RxFilter): promiscuous on, everything else off. */
#define VIO_RX_MODE_RESET VIO_RX_PROMISC

/* -- MAC filter table (pymodel net_rx.MAC_TABLE_ENTRIES) -------------------- */
#define VIO_MAC_TABLE_ENTRIES 64u
#define VIO_MAC_OVERFLOW_UNI   (1u << 0) /* accept every unicast frame   */
#define VIO_MAC_OVERFLOW_MULTI (1u << 1) /* accept every multicast frame */

#define VIO_VLAN_IDS 4096u

#endif /* VIO_NET_DEFS_H */
