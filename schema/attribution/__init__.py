"""Attribution: codes behind QRs, their scans, members' bindings and the binding policy."""
