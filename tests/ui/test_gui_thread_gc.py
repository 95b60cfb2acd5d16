import gc


def test_cycles_are_collected_between_events_on_the_gui_thread(qtbot):
    from dip_gui.ui.gui_thread_gc import collect_due_generations, install_gui_thread_gc

    timer = install_gui_thread_gc()
    assert timer is not None and install_gui_thread_gc() is timer  # one per application
    assert not gc.isenabled()  # not in whichever thread allocates, nor inside a Qt destructor
    for _ in range(gc.get_threshold()[0] + 10):  # cycles enough to pass the youngest threshold
        cycle: list = []
        cycle.append(cycle)
    assert collect_due_generations() > 0
    qtbot.waitUntil(lambda: gc.get_count()[0] < gc.get_threshold()[0], timeout=3000)  # the timer collects
